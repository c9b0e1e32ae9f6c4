// The back-office menu: groups of pages, each with the roles that see it. Pages that
// other domains add (warehouse, agents, suppliers, marketing, live) join a group here.
import Dashboard from './pages/Dashboard.vue'
import Withdrawals from './pages/Withdrawals.vue'
import Orders from './pages/Orders.vue'
import Plans from './pages/Plans.vue'

const M = ['boss', 'operator']

export const MENU = [
  { title: '经营', icon: 'DataLine', items: [
    { path: 'dashboard', title: '经营看板', component: Dashboard, roles: [...M, 'finance'] },
  ] },
  { title: '奖励', icon: 'Present', items: [
    { path: 'rewards/plans', title: '奖励方案', component: Plans, roles: M },
  ] },
  { title: '商品与订单', icon: 'Goods', items: [
    { path: 'orders', title: '订单管理', component: Orders, roles: M },
  ] },
  { title: '财务', icon: 'Wallet', items: [
    { path: 'finance/withdrawals', title: '提现审核', component: Withdrawals, roles: M },
  ] },
]

export function menuFor(role) {
  return MENU.map((g) => ({ ...g, items: g.items.filter((i) => !i.roles || i.roles.includes(role)) }))
    .filter((g) => g.items.length)
}
