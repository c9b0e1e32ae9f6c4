// Agents and the cloud warehouse (docs/agents.md): applications, authorizations,
// pickups, restocks, anti-counterfeit batches, shipments of code ranges, 窜货 cases.
import { h } from 'vue'
import { ElMessageBox } from 'element-plus'
import { api } from '../session.js'
import { fmtTime } from '../../api.js'
import { fenToYuan, FieldError } from '../fields.js'
import { opts, productOptions, categoryOptions, levelOptions, levelNames, regionsToApi, regionsText } from './options.js'

const APP = { pending: '待审核', approved: '已通过', rejected: '已驳回' }
const AUTH = { active: '有效', suspended: '已暂停', revoked: '已撤销' }
const TAGS = { pending: 'warning', approved: 'success', rejected: 'danger', active: 'success', suspended: 'warning', revoked: 'danger',
  requested: 'warning', shipped: 'success', open: 'warning', closed: 'info' }
// What an authorization covers: products by id and whole categories (商品分类, a product is
// covered when its id or its category is listed; both empty = every product), and regions.
const scopeFields = [
  { key: 'product_ids', label: '授权商品', type: 'ids', placeholder: '商品ID，逗号分隔', hint: '与授权分类任一包含即可售；两者都留空为全部商品' },
  { key: 'categories', label: '授权分类', type: 'multiselect', load: categoryOptions, placeholder: '选择商品分类（可多选）', hint: '该分类下现有和以后上架的商品都可售' },
  { key: 'regions', label: '授权区域', placeholder: '例如 浙江省/杭州市，江苏省', hint: '省/市，多个用逗号分隔；留空为不限区域', toApi: regionsToApi },
]
const reason = (label = '原因') => [{ key: 'reason', label, type: 'textarea', required: true, rows: 2 }]
const PACKAGE = { none: '未购买', unpaid: '待付款', paid: '已付款', refunding: '退款中', refunded: '已退款', cancelled: '已取消' }

// What an authorization covers: products by id or whole categories; neither = everything.
function coverText(r) {
  const parts = [...(r.product_ids || []).map((i) => '#' + i), ...(r.categories || []).map((c) => `「${c}」分类`)]
  return parts.length ? parts.join('、') : '全部'
}

// ---- the channel policy (GET|PATCH /admin/agents/settings, docs/agents.md), one form
const CHOICES = {
  review_by: { hq: '总部审核', upline: '上级代理审核（无上级时总部）' },
  package_payment: { before_review: '付款后才能审核通过', on_approval: '审核通过时从申请人储值扣款' },
  settlement_mode: { platform: '平台收款，按上级拿货价结给上级', upline: '货款全部结给上级' },
  dropship_shortage: { refuse: '拒绝下单', platform: '由品牌仓发货' },
  restock_refund: { none: '不允许退款', whole: '只能整单退款', lines: '可按规格逐项退款' },
}
const TITLES = { review_by: '申请审核方', package_payment: '等级礼包收款', settlement_mode: '上级供货结算', dropship_shortage: '代发库存不足',
  restock_refund: '进货单退款' }

// "l1 10-100" per line → {l1: {min_pieces: 10, max_pieces: 100}}; "l2 5-" has no maximum.
function limitsToApi(text) {
  const out = {}
  for (const line of String(text || '').split(/\n+/).map((x) => x.trim()).filter(Boolean)) {
    const m = /^(\S+)\s+(\d+)\s*[-–~～]\s*(\d*)$/.exec(line)
    if (!m) throw new FieldError('restock_limits', `「${line}」应写成 等级 最少-最多，例如 l1 10-100`)
    out[m[1]] = { min_pieces: Number(m[2]), ...(m[3] ? { max_pieces: Number(m[3]) } : {}) }
  }
  return out
}
const limitsText = (limits) => Object.entries(limits || {}).map(([k, v]) => `${k} ${v.min_pieces || 0}-${v.max_pieces ?? ''}`).join('\n')

const settingsFields = [
  ...['review_by', 'package_payment'].map((key) => ({ key, label: TITLES[key], type: 'radio', options: opts(CHOICES[key]) })),
  { key: 'certificate_days', label: '授权有效天数', type: 'int', suffix: '天', hint: '新授权与证书默认的有效期' },
  ...['settlement_mode', 'restock_refund', 'dropship_shortage'].map((key) => ({ key, label: TITLES[key], type: 'radio', options: opts(CHOICES[key]) })),
  { key: 'transfer_confirmation', label: '转货需确认', type: 'switch', hint: '开启后，转给下级的货要对方确认才入账' },
  { key: 'pickup_freight_fen', label: '提货运费', type: 'yuan', hint: '每次云仓提货从储值扣的运费' },
  { key: 'restock_limits', label: '进货量限制', type: 'textarea', rows: 3, placeholder: '每行一个：等级 最少-最多，例如 l1 10-100',
    hint: '每次进货的件数范围；留空为不限', toApi: limitsToApi },
]

async function openSettings(ctx) {
  const s = await api.get('/admin/agents/settings')
  ctx.openForm({ label: '渠道设置', method: 'PATCH', path: '/admin/agents/settings', success: '渠道设置已保存',
    intro: '代理渠道的规则，对全部代理生效；每次修改都记入操作日志。', width: '640px', fields: settingsFields,
    initial: () => ({ ...s, restock_limits: limitsText(s.restock_limits) }) }, null)
}
const settingsButton = { label: '渠道设置', perm: 'agents.manage', run: openSettings }

// The settings a page depends on, shown above its list.
const settingsSummary = (keys) => async () => {
  const s = await api.get('/admin/agents/settings')
  return keys.map((k) => [TITLES[k], CHOICES[k][s[k]] || s[k]])
}

export const applications = {
  title: '代理申请', hint: '审核会员提交的代理申请：通过后按申请等级授权，并生成授权证书。',
  path: '/admin/agents/applications', lookups: levelNames,
  filters: [{ key: 'status', label: '全部状态', options: opts(APP), default: 'pending' }],
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'real_name', label: '姓名' }, { prop: 'phone', label: '手机', width: 120 },
    { label: '申请等级', render: (r, l) => l.levels?.[r.level] || r.level }, { label: '地区', render: (r) => [r.province, r.city].filter(Boolean).join(' ') },
    { prop: 'package_fen', label: '进货款', fmt: 'fen' },
    // whether the level package is paid: with 等级礼包收款 = 付款后才能审核通过, unpaid cannot be approved
    { prop: 'package_status', label: '礼包', map: PACKAGE, width: 80 }, { prop: 'status', label: '状态', map: APP, tag: TAGS },
    { prop: 'reason', label: '审核意见', width: 140 }, { prop: 'created_at', label: '申请时间', fmt: 'time', width: 150 }],
  expand: (r) => [['会员ID', r.member_id], ['身份证号', r.id_number], ['审核方', r.reviewer], ['审核时间', fmtTime(r.decided_at)],
    ['申请分类', (r.categories || []).join('、') || '未指定（全部商品）'], ['礼包订单', r.package_order_id ? `#${r.package_order_id}` : '无'],
    ['资料图片', (r.images || []).length ? `${r.images.length} 张` : '无']],
  summary: settingsSummary(['review_by', 'package_payment']),
  toolbar: [settingsButton],
  actions: [
    { label: '通过', perm: 'agents.manage', show: (r) => r.status === 'pending', title: '通过代理申请',
      intro: (r) => `${r.real_name} 申请 ${r.level}。授权范围可在此限定，留空则不限${r.categories?.length ? '（分类默认为申请的分类）' : ''}。`,
      initial: (r) => ({ categories: r.categories || [] }),
      path: (r) => `/admin/agents/applications/${r.id}/approve`, submitText: '通过', success: '已通过，已授权',
      fields: [{ key: 'reason', label: '审核意见', type: 'textarea', rows: 2 }, ...scopeFields] },
    { label: '驳回', perm: 'agents.manage', type: 'danger', show: (r) => r.status === 'pending', title: '驳回代理申请',
      path: (r) => `/admin/agents/applications/${r.id}/reject`, submitText: '驳回', success: '已驳回',
      fields: reason('驳回原因') },
  ],
}

async function showCertificates(row) {
  const certs = (await api.get(`/admin/agents/members/${row.member_id}/certificates`)).items
  const first = certs[0]
  const url = first ? URL.createObjectURL(await api.blob(`/admin/agents/certificates/${first.id}/image`)) : null
  await ElMessageBox({ title: `${row.holder_name} 的授权证书`, confirmButtonText: '关闭', customStyle: { maxWidth: '640px' },
    message: h('div', [
      certs.length ? h('ul', { class: 'plain-list' }, certs.map((c) => h('li', `${c.serial} · ${c.level_name} · ${c.region || '不限区域'} · ${fmtTime(c.valid_from)} 至 ${fmtTime(c.valid_until)}（${{ valid: '有效', superseded: '已换发', revoked: '已撤销' }[c.status] || c.status}）`)))
        : h('p', '还没有证书'),
      url ? h('img', { src: url, alt: '授权证书', style: 'max-width:100%;margin-top:8px;border:1px solid #eee' }) : null,
    ]) }).catch(() => {})
}

async function showStock(row) {
  const lines = (await api.get(`/admin/agents/members/${row.member_id}/stock`)).items
  await ElMessageBox.alert(h('ul', { class: 'plain-list' }, lines.length ? lines.map((l) => h('li', `SKU #${l.sku_id}：${l.pieces} 件`)) : [h('li', '云仓没有库存')]),
    `${row.holder_name} 的云仓库存`, { confirmButtonText: '关闭' }).catch(() => {})
}

export const authorizations = {
  title: '代理授权', hint: '授权决定代理的等级、可卖商品与区域、有效期；暂停、恢复、撤销都需写明原因并记入操作日志。',
  path: '/admin/agents/authorizations', paging: 'after', lookups: levelNames,
  filters: [{ key: 'status', label: '全部状态', options: opts(AUTH) }],
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'holder_name', label: '代理' }, { prop: 'member_id', label: '会员ID', width: 80 },
    { label: '等级', render: (r, l) => l.levels?.[r.level] || r.level }, { label: '商品', width: 140, render: coverText },
    { label: '区域', render: (r) => regionsText(r.regions) || '不限', width: 120 },
    { prop: 'valid_until', label: '有效期至', fmt: 'time', width: 150 },
    { prop: 'status', label: '状态', map: AUTH, tag: TAGS }],
  create: [{ label: '新增授权', perm: 'agents.manage', path: '/admin/agents/authorizations', success: '已授权',
    fields: [{ key: 'member_id', label: '会员ID', type: 'int', required: true }, { key: 'level', label: '代理等级', type: 'select', required: true, load: levelOptions },
      ...scopeFields, { key: 'valid_until', label: '有效期至', type: 'datetime', hint: '留空按渠道设置的证书有效天数' }] }],
  actionsWidth: 260,
  actions: [
    { label: '修改范围', perm: 'agents.manage', show: (r) => r.status !== 'revoked', method: 'PATCH',
      path: (r) => `/admin/agents/authorizations/${r.id}`, success: '已修改',
      initial: (r) => ({ product_ids: r.product_ids || [], categories: r.categories || [], regions: regionsText(r.regions), valid_until: r.valid_until }),
      // an emptied field clears that limit (null: every product / nationwide), it is not left as it was
      fields: [...scopeFields.map((f) => ({ ...f, emptyAs: null })), { key: 'valid_until', label: '有效期至', type: 'datetime' }] },
    { label: '暂停', perm: 'agents.manage', type: 'warning', show: (r) => r.status === 'active', path: (r) => `/admin/agents/authorizations/${r.id}/suspend`, fields: reason('暂停原因'), success: '已暂停' },
    { label: '恢复', perm: 'agents.manage', type: 'success', show: (r) => r.status === 'suspended', path: (r) => `/admin/agents/authorizations/${r.id}/reinstate`, fields: reason('恢复原因'), success: '已恢复' },
    { label: '撤销', perm: 'agents.manage', type: 'danger', show: (r) => r.status !== 'revoked', path: (r) => `/admin/agents/authorizations/${r.id}/revoke`,
      fields: reason('撤销原因'), confirm: (r) => `撤销 ${r.holder_name} 的代理授权？撤销后不能恢复，证书随之失效。`, confirmText: '撤销', success: '已撤销' },
    { label: '证书', perm: 'agents.read', run: showCertificates },
    { label: '库存', perm: 'agents.read', run: showStock },
  ],
}

export const pickups = {
  title: '云仓提货', hint: '代理从云仓提货到手，在这里发货；发货后库存已在提货时扣减，运单号会通知代理。',
  path: '/admin/agents/pickups', paging: 'limit',
  filters: [{ key: 'status', label: '全部状态', options: opts({ requested: '待发货', shipped: '已发货' }), default: 'requested' }],
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'member_id', label: '代理会员', width: 90 }, { prop: 'sku_id', label: 'SKU', width: 70 },
    { prop: 'pieces', label: '件数', width: 70 }, { prop: 'freight_fen', label: '运费', fmt: 'fen' },
    { label: '收货人', width: 200, render: (r) => `${r.receiver?.name || ''} ${r.receiver?.phone || ''} ${r.receiver?.address || ''}` },
    { prop: 'status', label: '状态', map: { requested: '待发货', shipped: '已发货' }, tag: TAGS },
    { label: '物流', render: (r) => (r.tracking_no ? `${r.logistics_company} ${r.tracking_no}` : '—') },
    { prop: 'created_at', label: '申请时间', fmt: 'time', width: 150 }],
  toolbar: [{ label: '核对库存账', perm: 'agents.read', run: async () => {
    const c = await api.get('/admin/agents/warehouse/check')
    await ElMessageBox.alert(c.ok ? `库存账平衡：${c.balances} 个余额、${c.postings} 笔记账，无负数。`
      : `库存账有问题：差异 ${c.differences?.length || 0} 处，不平衡记账 ${c.unbalanced_postings?.length || 0} 笔，负数 ${c.negative?.length || 0} 处。`,
    '云仓库存核对', { confirmButtonText: '知道了', type: c.ok ? 'success' : 'error' }).catch(() => {})
  } }],
  actions: [{ label: '发货', perm: 'agents.manage', show: (r) => r.status === 'requested', title: '提货发货', submitText: '确认发货',
    path: (r) => `/admin/agents/pickups/${r.id}/ship`, success: '已发货',
    fields: [{ key: 'company', label: '物流公司', required: true, placeholder: '例如 顺丰速运' }, { key: 'tracking_no', label: '运单号', required: true, placeholder: '例如 SF1234567890' }] }],
}

const RESTOCK = { created: '待支付', paid: '已入仓', cancelled: '已取消', refunded: '已退款' }

export const restocks = {
  title: '进货单', hint: '代理向上级或平台进货的订单：结算方式、件数与金额；已入仓的可按渠道设置退款（货退回来源，款原路退回）。',
  path: '/admin/agents/restocks',
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'buyer_id', label: '进货代理', width: 90 }, { label: '供货方', render: (r) => (r.supplier_id ? `上级 #${r.supplier_id}` : '平台') },
    { prop: 'pieces', label: '件数', width: 70 }, { prop: 'amount_fen', label: '金额', fmt: 'fen' },
    { prop: 'settlement_mode', label: '结算', map: { platform: '平台结算', upline: '上级结算' } },
    { prop: 'status', label: '状态', map: RESTOCK, tag: { paid: 'success', refunded: 'info', cancelled: 'info', created: 'warning' } },
    { prop: 'created_at', label: '下单时间', fmt: 'time', width: 150 }],
  expand: (r) => (r.lines || []).map((l) => [`SKU #${l.sku_id}`, `${l.quantity} 件 × ¥${fenToYuan(l.unit_price_fen)}`]),
  summary: settingsSummary(['restock_refund', 'settlement_mode']),
  toolbar: [settingsButton],
  actions: [{ label: '退款', perm: 'agents.manage', type: 'danger', show: (r) => r.status === 'paid', title: '进货单退款', submitText: '退款',
    intro: (r) => `进货单 #${r.id}：${r.pieces} 件，¥${fenToYuan(r.amount_fen)}。退款后这些货从代理云仓退回${r.supplier_id ? '上级' : '平台'}，货款原路退回。`,
    path: (r) => `/admin/agents/restocks/${r.id}/refund`, success: '退款已提交：货已退回，款项原路退回后状态变为已退款',
    fields: (r) => [
      ...((r.lines || []).length > 1 ? [{ key: 'sku_id', label: '退款规格', type: 'select', placeholder: '整单退款',
        options: r.lines.map((l) => ({ value: l.sku_id, label: `SKU #${l.sku_id}（${l.quantity} 件）` })),
        hint: '留空为整单退款；按规格退款需渠道设置允许' }] : []),
      ...reason('退款原因')],
    confirmTitle: '确认退款', confirm: (r, v) => `确认退款${v.sku_id ? ` SKU #${v.sku_id} 这一项` : `整单中还没退的全部规格（进货单共 ¥${fenToYuan(r.amount_fen)}）`}？货与款退回后不能撤销。`, confirmText: '退款' }],
}

async function exportBatch(row) {
  const blob = await api.blob(`/admin/anticounterfeit/batches/${row.id}/export.zip`)
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = `anticounterfeit-batch-${row.id}.zip`
  a.click()
}

export const codeBatches = {
  title: '防伪码', hint: '按商品生成防伪码批次（每码 100 位随机，不可猜），导出 CSV 与二维码交印刷；再把码段登记发给代理，扫码即可追溯窜货。',
  path: '/admin/anticounterfeit/batches', paging: 'none',
  columns: [
    { prop: 'id', label: '批次', width: 60 }, { prop: 'product_name', label: '商品' }, { prop: 'size', label: '码数', width: 90 },
    { prop: 'label', label: '备注' }, { prop: 'created_at', label: '生成时间', fmt: 'time', width: 150 }],
  create: [
    { label: '生成防伪码', perm: 'anticounterfeit.manage', path: '/admin/anticounterfeit/batches', success: '已生成',
      fields: [{ key: 'product_id', label: '商品', type: 'select', required: true, filterable: true, load: productOptions },
        { key: 'size', label: '数量', type: 'int', required: true, placeholder: '例如 1000' }, { key: 'label', label: '备注', placeholder: '例如 2026 春茶第一批' }] },
    { label: '码段发给代理', perm: 'anticounterfeit.manage', path: '/admin/anticounterfeit/shipments', success: '已登记', title: '登记发出的码段',
      intro: '写明哪段序号的防伪码随货发给了哪位代理；扫码地区与代理授权区域不符即记为窜货案件。',
      fields: [{ key: 'agent_id', label: '代理会员ID', type: 'int', required: true }, { key: 'batch_id', label: '批次', type: 'int', required: true },
        { key: 'seq_from', label: '起始序号', type: 'int', required: true }, { key: 'seq_to', label: '结束序号', type: 'int', required: true },
        { key: 'note', label: '备注' }] },
  ],
  actions: [{ label: '导出印刷文件', perm: 'anticounterfeit.manage', run: exportBatch }],
}

export const codeShipments = {
  title: '码段发放记录', path: '/admin/anticounterfeit/shipments', paging: 'none',
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'agent_id', label: '代理会员', width: 90 }, { prop: 'batch_id', label: '批次', width: 70 },
    { label: '序号', render: (r) => `${r.seq_from} – ${r.seq_to}` }, { prop: 'count', label: '码数', width: 80 }, { prop: 'note', label: '备注' },
    { prop: 'created_at', label: '登记时间', fmt: 'time', width: 150 }],
}

export const cases = {
  title: '窜货案件', hint: '防伪码在代理授权区域之外被扫到时自动立案；核实处理后结案并写明处理结果。',
  path: '/admin/anticounterfeit/cases', paging: 'limit',
  filters: [{ key: 'status', label: '全部状态', options: opts({ open: '待处理', closed: '已结案' }), default: 'open' }],
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'agent_id', label: '代理会员', width: 90 }, { prop: 'province', label: '扫码省份' },
    { prop: 'cities', label: '城市' }, { prop: 'scans', label: '扫码次数', width: 90 }, { prop: 'codes', label: '涉及码数', width: 90 },
    { prop: 'status', label: '状态', map: { open: '待处理', closed: '已结案' }, tag: TAGS },
    { prop: 'last_at', label: '最近扫码', fmt: 'time', width: 150 }, { prop: 'note', label: '处理结果' }],
  actions: [{ label: '结案', perm: 'anticounterfeit.manage', show: (r) => r.status === 'open', path: (r) => `/admin/anticounterfeit/cases/${r.id}/close`,
    success: '已结案', fields: [{ key: 'note', label: '处理结果', type: 'textarea', required: true, rows: 3 }] }],
}

