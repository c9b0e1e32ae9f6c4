// Marketing tools (docs/marketing.md): coupons, group-buy campaigns, points rules and
// tasks, the material library promoters share from.
import { h } from 'vue'
import { ElMessageBox } from 'element-plus'
import { api } from '../session.js'
import { yuan, fmtTime } from '../../api.js'
import { opts, productOptions, skuOptions, skuPair, decimalRate, fmtDate } from './options.js'
import { decimalToPercent } from '../fields.js'

const ON = { active: '进行中', stopped: '已停止' }
const TAGS = { active: 'success', stopped: 'info', hidden: 'info', draft: 'info', ended: 'info' }
const KIND = { amount: '立减券', percent: '折扣券', threshold: '满减券', shipping: '免运费券' }
const SCOPE = { all: '全部商品', products: '指定商品', categories: '指定分类', excluded: '除指定商品外' }
const stop = (what, path) => [
  { label: '停止', perm: 'marketing.manage', type: 'warning', show: (r) => r.status === 'active', path, body: () => ({ status: 'stopped' }),
    confirm: (r) => `停止${what}「${r.name || r.title}」？`, success: '已停止' },
  { label: '恢复', perm: 'marketing.manage', type: 'success', show: (r) => r.status === 'stopped', path, body: () => ({ status: 'active' }), success: '已恢复' },
]

export const coupons = {
  title: '优惠券', hint: '立减、折扣（可设封顶）、满减与免运费券；可领取的券出现在商城领券中心，也可直接发给会员。',
  path: '/admin/marketing/coupons',
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'name', label: '名称', width: 140 }, { prop: 'kind', label: '类型', map: KIND },
    { prop: 'description', label: '规则', width: 200 }, { prop: 'scope', label: '范围', map: SCOPE },
    { prop: 'issued', label: '已发', width: 70 }, { prop: 'used', label: '已用', width: 70 }, { prop: 'remaining', label: '剩余', width: 70 },
    { prop: 'status', label: '状态', map: ON, tag: TAGS },
    { label: '有效期', width: 190, render: (r) => (r.valid_days ? `领取后 ${r.valid_days} 天` : `${fmtDate(r.valid_from)} 至 ${fmtDate(r.valid_until)}`) }],
  create: [{ label: '新建优惠券', perm: 'marketing.manage', path: '/admin/marketing/coupons', success: '优惠券已创建', width: '620px',
    fields: [
      { key: 'name', label: '名称', required: true, placeholder: '例如 新人立减 10 元' },
      { key: 'kind', label: '类型', type: 'radio', default: 'amount', options: opts(KIND) },
      { key: 'amount_off_fen', label: '减免金额', type: 'yuan', when: (v) => v.kind === 'amount' || v.kind === 'threshold', required: true },
      { key: 'percent_off', label: '折扣', placeholder: '例如 12%（即打 88 折）', when: (v) => v.kind === 'percent', required: true,
        hint: '优惠的比例', toApi: decimalRate },
      { key: 'max_discount_fen', label: '最多优惠', type: 'yuan', when: (v) => v.kind === 'percent', hint: '留空不封顶' },
      { key: 'threshold_fen', label: '使用门槛', type: 'yuan', hint: '订单满多少元可用；留空为无门槛' },
      { key: 'scope', label: '适用范围', type: 'select', default: 'all', options: opts(SCOPE) },
      { key: 'product_ids', label: '商品', type: 'ids', placeholder: '商品ID，逗号分隔', when: (v) => v.scope === 'products' || v.scope === 'excluded' },
      { key: 'categories', label: '分类', type: 'list', placeholder: '分类名，逗号分隔', when: (v) => v.scope === 'categories' },
      { key: 'valid_from', label: '生效时间', type: 'datetime' },
      { key: 'valid_until', label: '失效时间', type: 'datetime' },
      { key: 'valid_days', label: '领取后有效', type: 'int', suffix: '天', hint: '与起止时间二选一', paths: ['valid_days', 'validity'] },
      { key: 'total_stock', label: '发行量', type: 'int', required: true, suffix: '张' },
      { key: 'per_member_limit', label: '每人限领', type: 'int', default: '1', suffix: '张' },
      { key: 'claimable', label: '允许领取', type: 'switch', default: true, hint: '关闭则只能由后台发放' },
    ] }],
  toolbar: [{ label: '营销规则', perm: 'marketing.manage', run: async (ctx) => {
    const [policy, list] = await Promise.all([api.get('/admin/marketing/policy'), api.get('/admin/marketing/coupons', { limit: 100 })])
    const choices = list.items.filter((c) => c.status === 'active').map((c) => ({ value: c.id, label: `${c.name}（#${c.id}）` }))
    ctx.openForm({ label: '营销规则', method: 'PATCH', path: '/admin/marketing/policy', success: '营销规则已保存',
      initial: () => policy, fields: [
        { key: 'return_coupon_on_refund', label: '退款退券', type: 'switch', hint: '整单退款后把用掉的券还给买家' },
        { key: 'new_member_coupon_id', label: '新人券', type: 'select', options: choices, hint: '新会员注册时自动发放' },
        { key: 'invite_coupon_id', label: '邀请券', type: 'select', options: choices, hint: '邀请新会员成功后发给邀请人' }] }, null)
  } }],
  actions: [
    ...stop('发放优惠券', (r) => `/admin/marketing/coupons/${r.id}/status`),
    { label: '发给会员', perm: 'marketing.manage', show: (r) => r.status === 'active', path: (r) => `/admin/marketing/coupons/${r.id}/grant`, success: '已发放',
      fields: [{ key: 'member_id', label: '会员ID', type: 'int', required: true }] },
  ],
}

async function showGroups(row) {
  const groups = (await api.get(`/admin/marketing/group-campaigns/${row.id}/groups`, { limit: 50 })).items
  const S = { forming: '拼团中', filled: '已成团', failed: '未成团' }
  await ElMessageBox.alert(h('ul', { class: 'plain-list' }, groups.length
    ? groups.map((g) => h('li', `团 #${g.id} · 团长 ${g.leader_id} · ${g.seats_paid}/${g.size} 人已付款 · ${S[g.status] || g.status}${g.status === 'forming' ? `（${fmtTime(g.expires_at)} 截止）` : ''}`))
    : [h('li', '还没有人开团')]), `「${row.name}」的团`, { confirmButtonText: '关闭' }).catch(() => {})
}

export const groupBuys = {
  title: '拼团', hint: '选一个规格设拼团价、成团人数与时限；未在时限内成团的自动退款。',
  path: '/admin/marketing/group-campaigns',
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'name', label: '活动', width: 140 }, { label: '商品', render: (r) => `#${r.product_id} / SKU #${r.sku_id}` },
    { prop: 'group_price_fen', label: '拼团价', fmt: 'fen' }, { prop: 'group_size', label: '成团人数', width: 80 },
    { label: '时限', render: (r) => `${r.time_limit_minutes} 分钟` },
    { label: '团', width: 140, render: (r) => Object.entries(r.groups || {}).map(([k, n]) => `${{ forming: '拼团中', filled: '成团', failed: '失败' }[k] || k} ${n}`).join('，') || '—' },
    { prop: 'free_leader', label: '团长免单', fmt: 'bool', width: 80 }, { prop: 'status', label: '状态', map: ON, tag: TAGS },
    { label: '活动时间', width: 190, render: (r) => `${fmtDate(r.starts_at)} 至 ${fmtDate(r.ends_at)}` }],
  create: [{ label: '新建拼团', perm: 'marketing.manage', path: '/admin/marketing/group-campaigns', success: '拼团活动已创建',
    fields: [
      { key: 'name', label: '活动名称', required: true },
      { key: 'sku', label: '商品规格', type: 'select', required: true, filterable: true, load: skuOptions, toApi: skuPair, spread: ['product_id', 'sku_id'] },
      { key: 'group_price_fen', label: '拼团价', type: 'yuan', required: true },
      { key: 'group_size', label: '成团人数', type: 'int', default: '2', required: true, suffix: '人' },
      { key: 'time_limit_minutes', label: '成团时限', type: 'int', default: '1440', required: true, suffix: '分钟' },
      { key: 'starts_at', label: '开始时间', type: 'datetime', required: true },
      { key: 'ends_at', label: '结束时间', type: 'datetime', required: true },
      { key: 'leader_reward_points', label: '团长奖励积分', type: 'int', hint: '成团后奖励团长的积分，可不填' },
      { key: 'free_leader', label: '团长免单', type: 'switch', hint: '成团后全额退还团长的订单' },
    ] }],
  actions: [...stop('拼团活动', (r) => `/admin/marketing/group-campaigns/${r.id}/status`), { label: '查看团', perm: 'marketing.read', run: showGroups }],
}

const REPEAT = { once: '一次性', daily: '每日' }
export const points = {
  title: '积分', hint: '积分规则决定积分价值、抵扣上限与获取方式；任务是会员完成后领取积分的事项（可设领取口令）。',
  path: '/admin/marketing/points-tasks', paging: 'none',
  summary: async () => {
    const r = await api.get('/admin/marketing/points-rules')
    return [['1 积分抵', `¥${yuan(r.point_value_fen)}`], ['单笔最多抵扣', decimalToPercent(r.points_max_ratio)], ['每消费 1 元得', `${r.earn_points_per_yuan} 积分`],
      ['签到', `${r.signin_points} 积分`], ['绑定', `${r.bind_points} 积分`], ['有效期', r.points_expire_days ? `${r.points_expire_days} 天` : '永久']]
  },
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'title', label: '任务', width: 180 }, { prop: 'points', label: '积分', width: 80 },
    { prop: 'repeat', label: '频次', map: REPEAT }, { prop: 'claim_code', label: '领取口令' }, { prop: 'status', label: '状态', map: ON, tag: TAGS }],
  toolbar: [{ label: '修改积分规则', perm: 'marketing.manage', run: async (ctx) => {
    const r = await api.get('/admin/marketing/points-rules')
    ctx.openForm({ label: '积分规则', method: 'PATCH', path: '/admin/marketing/points-rules', success: '积分规则已保存',
      initial: () => ({ ...r, points_max_ratio: decimalToPercent(r.points_max_ratio) }), fields: [
        { key: 'point_value_fen', label: '1 积分抵', type: 'int', suffix: '分' },
        { key: 'points_max_ratio', label: '最多抵扣', placeholder: '例如 50%', hint: '一笔订单最多用积分抵扣的比例', toApi: decimalRate },
        { key: 'earn_points_per_yuan', label: '每消费 1 元得', type: 'int', suffix: '积分' },
        { key: 'signin_points', label: '签到得', type: 'int', suffix: '积分' },
        { key: 'bind_points', label: '绑定上级得', type: 'int', suffix: '积分' },
        { key: 'points_expire_days', label: '有效期', type: 'int', suffix: '天', hint: '0 为永久有效' }] }, null)
  } }],
  create: [{ label: '新建任务', perm: 'marketing.manage', path: '/admin/marketing/points-tasks', success: '任务已创建',
    fields: [{ key: 'title', label: '任务', required: true, placeholder: '例如 关注公众号' }, { key: 'points', label: '积分', type: 'int', required: true },
      { key: 'repeat', label: '频次', type: 'radio', default: 'once', options: opts(REPEAT) },
      { key: 'claim_code', label: '领取口令', hint: '会员输入口令才能领取；可不填' }] }],
  actions: stop('积分任务', (r) => `/admin/marketing/points-tasks/${r.id}/status`),
}

const MKIND = { image: '图片', video: '视频', copy: '文案' }
export const materials = {
  title: '素材库', hint: '推广员一键转发的图片、视频与文案；文案中可用 {link}（带推广员身份的链接）、{invite_code}、{nickname}。',
  path: '/admin/marketing/materials',
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'title', label: '标题', width: 160 }, { prop: 'kind', label: '类型', map: MKIND },
    { prop: 'category', label: '分类' }, { prop: 'downloads', label: '下载', width: 70 }, { prop: 'shares', label: '转发', width: 70 },
    { prop: 'bindings', label: '带来绑定', width: 90 }, { prop: 'orders', label: '带来订单', width: 90 }, { prop: 'gmv_fen', label: '成交额', fmt: 'fen' },
    { prop: 'status', label: '状态', map: { active: '展示中', hidden: '已隐藏' }, tag: TAGS }],
  expand: (r) => [['文案', r.body || '—'], ['图片/视频', (r.media_urls || []).join('\n') || '—'], ['关联商品', r.product_id ? `#${r.product_id}` : '—'], ['发布时间', fmtTime(r.created_at)]],
  create: [{ label: '发布素材', perm: 'marketing.manage', path: '/admin/marketing/materials', success: '素材已发布',
    fields: [{ key: 'kind', label: '类型', type: 'radio', default: 'copy', options: opts(MKIND) }, { key: 'title', label: '标题', required: true },
      { key: 'body', label: '文案', type: 'textarea', rows: 4, placeholder: '例如 春茶上新，点我下单：{link}' },
      { key: 'media_urls', label: '图片/视频地址', type: 'list', placeholder: '每行一个地址，最多 9 个', when: (v) => v.kind !== 'copy' },
      { key: 'category', label: '分类' }, { key: 'product_id', label: '关联商品', type: 'select', filterable: true, load: productOptions }] }],
  actions: [
    { label: '隐藏', perm: 'marketing.manage', type: 'warning', show: (r) => r.status === 'active', path: (r) => `/admin/marketing/materials/${r.id}/status`, body: () => ({ status: 'hidden' }), success: '已隐藏' },
    { label: '展示', perm: 'marketing.manage', type: 'success', show: (r) => r.status === 'hidden', path: (r) => `/admin/marketing/materials/${r.id}/status`, body: () => ({ status: 'active' }), success: '已展示' },
  ],
}
