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
import ListPage from './pages/ListPage.vue'
import { h } from 'vue'

// A read-only list page over another domain's admin route.
const list = (title, path, columns, hint) => ({ name: title, render: () => h(ListPage, { title, path, columns, hint }) })
const REVIEW = { pending: '待审核', approved: '已通过', rejected: '已驳回', active: '合作中', suspended: '已暂停' }

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
  { title: '代理与供应商', icon: 'Shop', items: [
    { path: 'agents/applications', title: '代理申请', roles: M, component: list('代理申请', '/admin/agents/applications', [
      { prop: 'id', label: '#', width: 60 }, { prop: 'real_name', label: '姓名' }, { prop: 'phone', label: '手机' },
      { prop: 'level', label: '申请等级' }, { prop: 'city', label: '城市' }, { prop: 'package_fen', label: '进货款', fmt: 'fen' },
      { prop: 'status', label: '状态', map: REVIEW }, { prop: 'created_at', label: '申请时间', fmt: 'time', width: 160 }]) },
    { path: 'suppliers', title: '供应商', roles: M, component: list('供应商', '/admin/suppliers', [
      { prop: 'id', label: '#', width: 60 }, { prop: 'name', label: '名称' }, { prop: 'company_name', label: '公司' },
      { prop: 'contact_name', label: '联系人' }, { prop: 'contact_phone', label: '电话' }, { prop: 'commission_rate', label: '平台抽佣' },
      { prop: 'status', label: '状态', map: REVIEW }, { prop: 'created_at', label: '入驻时间', fmt: 'time', width: 160 }]) },
  ] },
  { title: '营销工具', icon: 'Picture', items: [
    { path: 'marketing/coupons', title: '优惠券', roles: M, component: list('优惠券', '/admin/marketing/coupons', [
      { prop: 'id', label: '#', width: 60 }, { prop: 'name', label: '名称' }, { prop: 'description', label: '规则', width: 200 },
      { prop: 'issued', label: '已发' }, { prop: 'used', label: '已用' }, { prop: 'remaining', label: '剩余' },
      { prop: 'status', label: '状态', map: { active: '进行中', paused: '已暂停', ended: '已结束', stopped: '已停止', draft: '草稿' } },
      { prop: 'valid_until', label: '有效期至', fmt: 'time', width: 160 }]) },
    { path: 'live/rooms', title: '直播间', roles: M, component: list('直播间', '/admin/live/rooms', [
      { prop: 'id', label: '#', width: 60 }, { prop: 'title', label: '标题', width: 180 }, { prop: 'host_name', label: '主播' },
      { prop: 'scheduled_at', label: '开播时间', fmt: 'time', width: 160 },
      { prop: 'status', label: '状态', map: { upcoming: '预告', live: '直播中', ended: '已结束', replay: '回放' } }]) },
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
