// The back-office menu: groups of pages, each with the roles that see it. Pages that
// other domains add (warehouse, agents, suppliers, marketing, live) join a group here.
import Dashboard from './pages/Dashboard.vue'
import Withdrawals from './pages/Withdrawals.vue'
import Orders from './pages/Orders.vue'
import Plans from './pages/Plans.vue'
import Members from './pages/Members.vue'
import Finance from './pages/Finance.vue'
import Audit from './pages/Audit.vue'
import Catalog from './pages/Catalog.vue'
import Customers from './pages/Customers.vue'
import Workload from './pages/Workload.vue'
import Posters from './pages/Posters.vue'
import PlatformTenants from './pages/PlatformTenants.vue'
import PlatformLoad from './pages/PlatformLoad.vue'

const M = ['boss', 'operator']

export const MENU = [
  { title: '经营', icon: 'DataLine', items: [
    { path: 'dashboard', title: '经营看板', component: Dashboard, roles: [...M, 'finance'] },
  ] },
  { title: '会员', icon: 'User', items: [
    { path: 'members', title: '会员与团队', component: Members, roles: [...M, 'finance'] },
  ] },
  { title: '奖励', icon: 'Present', items: [
    { path: 'rewards/plans', title: '奖励方案', component: Plans, roles: M },
  ] },
  { title: '商品与订单', icon: 'Goods', items: [
    { path: 'catalog', title: '商品管理', component: Catalog, roles: M },
    { path: 'orders', title: '订单管理', component: Orders, roles: M },
  ] },
  { title: '财务', icon: 'Wallet', items: [
    { path: 'finance/withdrawals', title: '提现审核', component: Withdrawals, roles: M },
    { path: 'finance/ledger', title: '资金与对账', component: Finance, roles: M },
  ] },
  { title: '客户（SCRM）', icon: 'ChatDotRound', items: [
    { path: 'scrm/customers', title: '我的客户', component: Customers, roles: [...M, 'finance', 'sales'] },
    { path: 'scrm/workload', title: '员工工作量', component: Workload, roles: M },
  ] },
  { title: '营销工具', icon: 'Picture', items: [
    { path: 'posters', title: '海报模板', component: Posters, roles: M },
  ] },
  { title: '系统', icon: 'Setting', items: [
    { path: 'audit', title: '操作日志', component: Audit, roles: M },
  ] },
]

// The platform operator's console, across tenants (bearer PLATFORM_ADMIN_TOKEN).
MENU.push({ title: '平台', icon: 'Platform', items: [
  { path: 'platform/tenants', title: '商户与凭证', component: PlatformTenants, roles: ['platform'] },
  { path: 'platform/load', title: '平台负载', component: PlatformLoad, roles: ['platform'] },
] })

export function menuFor(role) {
  return MENU.map((g) => ({ ...g, items: g.items.filter((i) => !i.roles || i.roles.includes(role)) }))
    .filter((g) => g.items.length)
}
