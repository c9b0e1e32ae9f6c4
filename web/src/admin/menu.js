// The back-office menu: groups of pages, each shown to the roles holding its
// permission (backend/auth/policy.py; the login answer lists the role's permissions).
// Buttons inside pages follow the same permissions, so a role sees what it can use
// and nothing else. tests/api/test_web_menu.py keeps these names equal to the table.
import { h } from 'vue'
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
import MyPoster from './pages/MyPoster.vue'
import LiveRooms from './pages/LiveRooms.vue'
import PlatformTenants from './pages/PlatformTenants.vue'
import PlatformLoad from './pages/PlatformLoad.vue'
import Resource from './Resource.vue'
import { can } from './session.js'
import * as channel from './configs/channel.js'
import * as suppliers from './configs/suppliers.js'
import * as portal from './configs/portal.js'
import * as marketing from './configs/marketing.js'
import * as shopOrders from './configs/orders.js'
import * as staffConfigs from './configs/staff.js'
import * as rules from './configs/rules.js'
import * as scrm from './configs/scrm.js'

// A page made of one Resource config (a list with its forms and actions).
const page = (config) => ({ name: config.title, render: () => h(Resource, { config }) })

export const MENU = [
  { title: '经营', icon: 'DataLine', items: [
    { path: 'dashboard', title: '经营看板', component: Dashboard, perm: 'dashboard.read' },
  ] },
  { title: '会员', icon: 'User', items: [
    { path: 'members', title: '会员与团队', component: Members, perm: 'members.read' },
    { path: 'members/promoter-applications', title: '推广员申请', component: page(rules.promoterApplications), perm: 'members.read' },
  ] },
  { title: '奖励', icon: 'Present', items: [
    { path: 'rewards/plans', title: '奖励方案', component: Plans, perm: 'rewards.read' },
  ] },
  { title: '商品与订单', icon: 'Goods', items: [
    { path: 'catalog', title: '商品管理', component: Catalog, perm: 'catalog.read' },
    { path: 'orders', title: '订单管理', component: Orders, perm: 'orders.read' },
    { path: 'orders/refunds', title: '售后退款', component: page(shopOrders.refunds), perm: 'refunds.read' },
  ] },
  { title: '财务', icon: 'Wallet', items: [
    { path: 'finance/withdrawals', title: '提现审核', component: Withdrawals, perm: 'finance.read' },
    { path: 'finance/ledger', title: '资金与对账', component: Finance, perm: 'finance.read' },
    { path: 'finance/reconciliation', title: '对账差异', component: page(suppliers.reconDifferences), perm: 'finance.read' },
  ] },
  { title: '客户（SCRM）', icon: 'ChatDotRound', items: [
    { path: 'scrm/customers', title: '我的客户', component: Customers, perm: 'scrm.customers', homeOf: ['sales'] },
    // any staff member's own share poster with their staff code (finance and sales too)
    { path: 'scrm/poster', title: '我的海报', component: MyPoster, perm: 'posters.own' },
    { path: 'scrm/tags', title: '客户标签', component: page(scrm.tagGroups), perm: 'scrm.manage' },
    { path: 'scrm/tag-rules', title: '自动打标', component: page(scrm.tagRules), perm: 'scrm.manage' },
    { path: 'scrm/workload', title: '员工工作量', component: Workload, perm: 'scrm.manage' },
  ] },
  { title: '代理与云仓', icon: 'Shop', items: [
    { path: 'agents/applications', title: '代理申请', component: page(channel.applications), perm: 'agents.read' },
    { path: 'agents/authorizations', title: '代理授权', component: page(channel.authorizations), perm: 'agents.read' },
    { path: 'agents/pickups', title: '云仓提货', component: page(channel.pickups), perm: 'agents.read' },
    { path: 'agents/restocks', title: '进货单', component: page(channel.restocks), perm: 'agents.read' },
    { path: 'agents/codes', title: '防伪码', component: page(channel.codeBatches), perm: 'anticounterfeit.manage' },
    { path: 'agents/code-shipments', title: '码段发放', component: page(channel.codeShipments), perm: 'anticounterfeit.manage' },
    { path: 'agents/cases', title: '窜货案件', component: page(channel.cases), perm: 'anticounterfeit.manage' },
  ] },
  { title: '供应商管理', icon: 'Van', items: [
    { path: 'suppliers', title: '供应商', component: page(suppliers.suppliers), perm: 'suppliers.read' },
    { path: 'suppliers/products', title: '商品审核', component: page(suppliers.supplierProducts), perm: 'suppliers.read' },
    { path: 'suppliers/orders', title: '供应商订单', component: page(suppliers.subOrders), perm: 'suppliers.read' },
    { path: 'suppliers/statements', title: '供应商对账单', component: page(suppliers.statements), perm: 'suppliers.read' },
    { path: 'suppliers/withdrawals', title: '供应商提现', component: page(suppliers.supplierWithdrawals), perm: 'suppliers.read' },
  ] },
  { title: '营销工具', icon: 'Picture', items: [
    { path: 'marketing/coupons', title: '优惠券', component: page(marketing.coupons), perm: 'marketing.read' },
    { path: 'marketing/group-buys', title: '拼团', component: page(marketing.groupBuys), perm: 'marketing.read' },
    { path: 'marketing/points', title: '积分', component: page(marketing.points), perm: 'marketing.read' },
    { path: 'marketing/materials', title: '素材库', component: page(marketing.materials), perm: 'marketing.read' },
    { path: 'live/rooms', title: '直播间', component: LiveRooms, perm: 'marketing.read' },
    // the template editor and its preview are the managers' (posters.manage); every staff
    // member shares their own poster from 我的海报 (posters.own)
    { path: 'posters', title: '海报模板', component: Posters, perm: 'posters.manage' },
  ] },
  // a supplier's own login sees only its portal
  { title: '供应商中心', icon: 'Box', items: [
    { path: 'portal/products', title: '我的商品', component: page(portal.myProducts), perm: 'supplier.portal' },
    { path: 'portal/orders', title: '我的订单', component: page(portal.myOrders), perm: 'supplier.portal' },
    { path: 'portal/statement', title: '收入与对账单', component: page(portal.myStatement), perm: 'supplier.portal' },
    { path: 'portal/withdrawals', title: '提现', component: page(portal.myWithdrawals), perm: 'supplier.portal' },
  ] },
  { title: '系统', icon: 'Setting', items: [
    { path: 'audit', title: '操作日志', component: Audit, perm: 'audit.read' },
    { path: 'system/staff', title: '员工账号', component: page(staffConfigs.accounts), perm: 'staff.manage' },
  ] },
  // The platform operator's console, across tenants (bearer PLATFORM_ADMIN_TOKEN).
  { title: '平台', icon: 'Platform', items: [
    { path: 'platform/tenants', title: '商户与凭证', component: PlatformTenants, roles: ['platform'] },
    { path: 'platform/load', title: '平台负载', component: PlatformLoad, roles: ['platform'] },
  ] },
]

// Whether the signed-in role may open an item.
export function allowed(item, role) {
  if (item.roles) return item.roles.includes(role)
  return role !== 'platform' && can(item.perm)
}

export function menuFor(role) {
  return MENU.map((g) => ({ ...g, items: g.items.filter((i) => allowed(i, role)) })).filter((g) => g.items.length)
}

// Where a role lands after logging in: the page marked its home, else its first page.
export function homeFor(role) {
  const items = menuFor(role).flatMap((g) => g.items)
  return (items.find((i) => i.homeOf?.includes(role)) || items[0])?.path || 'login'
}
