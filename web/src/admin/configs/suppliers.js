// Suppliers as the brand manages them (docs/suppliers.md): accounts under review,
// products under review, their sub-orders and statements, withdrawals paid by bank
// batch, and the reconciliation differences of the payment bills.
import { h } from 'vue'
import { ElMessageBox } from 'element-plus'
import { api } from '../session.js'
import { yuan, fmtTime } from '../../api.js'
import { opts, supplierOptions, supplierNames } from './options.js'

export const SUPPLIER = { pending: '待审核', active: '合作中', rejected: '已驳回', suspended: '已暂停' }
export const REVIEW = { pending: '待审核', approved: '已通过', rejected: '已驳回' }
export const WITHDRAWAL = { pending: '待审核', approved: '待打款', paying: '打款中', paid: '已打款', failed: '打款失败', rejected: '已驳回' }
export const SUBORDER = { open: '待发货', shipped: '已发货' }
const TAGS = { pending: 'warning', active: 'success', approved: 'success', rejected: 'danger', suspended: 'info', paying: 'warning',
  paid: 'success', failed: 'danger', open: 'warning', shipped: 'success', resolved: 'success' }
const note = (label, required) => [{ key: 'note', label, type: 'textarea', rows: 2, required }]
const rate = { key: 'commission_rate', label: '平台抽佣', placeholder: '例如 10%', hint: '留空沿用供应商设置里的默认比例' }

export function download(blob, name) {
  const a = document.createElement('a')
  a.href = URL.createObjectURL(blob)
  a.download = name
  a.click()
}

export const suppliers = {
  title: '供应商', hint: '审核入驻申请、调整平台抽佣、暂停合作；供应商用自己的账号登录后台管理商品与订单。',
  path: '/admin/suppliers', filters: [{ key: 'status', label: '全部状态', options: opts(SUPPLIER) }],
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'name', label: '名称' }, { prop: 'company_name', label: '公司', width: 140 },
    { prop: 'contact_name', label: '联系人' }, { prop: 'contact_phone', label: '电话', width: 120 },
    { prop: 'commission_rate', label: '平台抽佣', fmt: 'rate' }, { prop: 'status', label: '状态', map: SUPPLIER, tag: TAGS },
    { prop: 'created_at', label: '入驻时间', fmt: 'time', width: 150 }],
  expand: (r) => [['营业执照号', r.license_no], ['审核意见', r.review_note || '—'], ['审核时间', fmtTime(r.reviewed_at)],
    ['审核人', r.reviewed_by || '—'], ['银行卡', r.bank_card ? `${r.bank_card.bank_name} ${r.bank_card.card_no}` : '未设置'],
    ['分账接收方', r.sharing_receiver || '—'], ['资料', (r.materials || []).map((m) => m.name || m.title || m.url).join('、') || '无']],
  actionsWidth: 250,
  actions: [
    { label: '通过', perm: 'suppliers.manage', show: (r) => r.status === 'pending', path: (r) => `/admin/suppliers/${r.id}/review`,
      title: '通过入驻申请', submitText: '通过', success: '已通过', body: () => ({ approve: true }), fields: [...note('审核意见'), rate] },
    { label: '驳回', perm: 'suppliers.manage', type: 'danger', show: (r) => r.status === 'pending', path: (r) => `/admin/suppliers/${r.id}/review`,
      title: '驳回入驻申请', submitText: '驳回', success: '已驳回', body: () => ({ approve: false }), fields: note('驳回原因', true) },
    { label: '调整抽佣', perm: 'suppliers.manage', show: (r) => r.status === 'active', method: 'PATCH', path: (r) => `/admin/suppliers/${r.id}`,
      initial: (r) => ({ commission_rate: r.commission_rate }), success: '已调整',
      fields: [{ ...rate, required: true, hint: '之后支付的订单按新比例结算' }, { key: 'sharing_receiver', label: '分账接收方', placeholder: '微信支付商户号或 openid（可不填）' }] },
    { label: '暂停合作', perm: 'suppliers.manage', type: 'warning', show: (r) => r.status === 'active', method: 'PATCH', path: (r) => `/admin/suppliers/${r.id}`,
      body: () => ({ status: 'suspended' }), confirm: (r) => `暂停与「${r.name}」的合作？其商品将下架，已有订单照常履约。`, success: '已暂停' },
    { label: '恢复合作', perm: 'suppliers.manage', type: 'success', show: (r) => r.status === 'suspended', method: 'PATCH', path: (r) => `/admin/suppliers/${r.id}`,
      body: () => ({ status: 'active' }), confirm: (r) => `恢复与「${r.name}」的合作？`, success: '已恢复' },
    { label: '添加账号', perm: 'suppliers.manage', show: (r) => r.status === 'active', path: (r) => `/admin/suppliers/${r.id}/users`, success: '已添加',
      fields: [{ key: 'username', label: '用户名', required: true }, { key: 'password', label: '初始密码', type: 'password', required: true, hint: '至少 8 位' },
        { key: 'display_name', label: '显示名称', required: true }] },
  ],
}

function changesText(c) {
  if (!c || typeof c !== 'object' || !Object.keys(c).length) return '—'
  return JSON.stringify(c).slice(0, 300)
}

export const supplierProducts = {
  title: '供应商商品审核', hint: '供应商新建的商品、改价与改成本都要审核通过后才生效；通过时可单独设定该商品的平台抽佣。',
  path: '/admin/suppliers/products', lookups: supplierNames,
  filters: [{ key: 'review_status', label: '全部状态', options: opts(REVIEW), default: 'pending' },
    { key: 'supplier_id', label: '全部供应商', options: supplierOptions, filterable: true }],
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'name', label: '商品', width: 160 }, { label: '供应商', render: (r, l) => l.suppliers?.[r.review?.supplier_id] || `#${r.review?.supplier_id}` },
    { label: '规格与价格', width: 200, render: (r) => r.skus.map((s) => `${s.name} ¥${yuan(s.price_fen)}（成本 ¥${yuan(s.cost_fen)}）`).join('；') },
    { label: '审核', render: (r) => REVIEW[r.review?.review_status] || r.review?.review_status || '—' },
    { label: '提交时间', width: 150, render: (r) => fmtTime(r.review?.submitted_at) }],
  expand: (r) => [['副标题', r.subtitle || '—'], ['分类', r.category || '—'], ['待审核的修改', changesText(r.review?.pending_changes)],
    ['审核意见', r.review?.review_note || '—'], ['描述', (r.description || '—').slice(0, 200)]],
  actions: [
    { label: '通过', perm: 'suppliers.manage', show: (r) => r.review?.review_status === 'pending', path: (r) => `/admin/suppliers/products/${r.id}/review`,
      title: '通过商品审核', intro: (r) => `「${r.name}」审核通过后即按所填价格上架销售。`, submitText: '通过', success: '已通过',
      body: () => ({ approve: true }), fields: [...note('审核意见'), { ...rate, hint: '留空按供应商的抽佣比例' }] },
    { label: '驳回', perm: 'suppliers.manage', type: 'danger', show: (r) => r.review?.review_status === 'pending', path: (r) => `/admin/suppliers/products/${r.id}/review`,
      title: '驳回商品', submitText: '驳回', success: '已驳回', body: () => ({ approve: false }), fields: note('驳回原因', true) },
  ],
}

const subOrderColumns = [
  { prop: 'sub_no', label: '子订单号', width: 180 }, { prop: 'order_no', label: '订单号', width: 180 },
  { prop: 'goods_fen', label: '货款', fmt: 'fen' }, { prop: 'status', label: '状态', map: SUBORDER, tag: TAGS },
  { label: '物流', render: (r) => (r.logistics ? `${r.logistics.company} ${r.logistics.tracking_no}` : '—') },
  { prop: 'created_at', label: '下单时间', fmt: 'time', width: 150 }]
export const subOrderExpand = (r) => [['收货人', r.receiver ? `${r.receiver.name} ${r.receiver.phone} ${r.receiver.address}` : '—'],
  ['商品', (r.lines || []).map((l) => `${l.product_name || ''} ${l.sku_name || ''} ×${l.quantity}`).join('；') || '—'],
  ['备注', r.remark || '—'], ['供应商收入', `¥${yuan((r.income || []).reduce((s, i) => s + i.income_fen, 0))}`]]

export const subOrders = {
  title: '供应商订单', hint: '含供应商商品的订单按供应商拆成子订单，由供应商各自发货与处理售后（这里只读）。',
  path: (f) => `/admin/suppliers/${f.supplier_id}/orders`,
  filters: [{ key: 'supplier_id', label: '供应商', options: supplierOptions, required: true, inPath: true, filterable: true },
    { key: 'status', label: '全部状态', options: opts(SUBORDER) }],
  columns: subOrderColumns, expand: subOrderExpand,
}
export { subOrderColumns }

export const statementColumns = [
  { prop: 'at', label: '时间', fmt: 'time', width: 150 }, { prop: 'title', label: '摘要', width: 160 }, { prop: 'account_title', label: '账户' },
  { prop: 'amount_fen', label: '金额', fmt: 'fen' }, { prop: 'order_id', label: '订单', width: 80 }, { prop: 'memo', label: '备注', width: 160 }]

export const statements = {
  title: '供应商对账单', hint: '供应商账户的每一笔收入、结算、退款冲回与提现，可导出 CSV 对账。',
  path: (f) => `/admin/suppliers/${f.supplier_id}/statement`,
  filters: [{ key: 'supplier_id', label: '供应商', options: supplierOptions, required: true, inPath: true, filterable: true }],
  columns: statementColumns,
  toolbar: [{ label: '导出 CSV', perm: 'suppliers.read', run: async (ctx) => {
    if (!ctx.filters.supplier_id) { await ElMessageBox.alert('请先选择供应商', '导出对账单').catch(() => {}); return }
    download(await api.blob(`/admin/suppliers/${ctx.filters.supplier_id}/statement.csv`), `supplier-${ctx.filters.supplier_id}-statement.csv`)
  } }],
}

async function exportBatch(ctx) {
  await ElMessageBox.confirm('把所有“待打款”的供应商提现放进一个银行批次并下载批量代付文件？文件含完整卡号，请妥善保管；银行处理后回来“确认批次结果”。',
    '生成打款批次', { confirmButtonText: '生成并下载', cancelButtonText: '取消', type: 'warning' })
  const res = await api.postRaw('/admin/suppliers/withdrawals/batches', {})
  const batch = res.headers.get('X-Batch-No')
  download(await res.blob(), `supplier-payouts-${batch}.csv`)
  await ElMessageBox.alert(h('p', ['已生成批次 ', h('b', batch), '。银行处理完后，用“确认批次结果”录入成功与失败的提现。']), '打款批次', { confirmButtonText: '知道了' }).catch(() => {})
  await ctx.reload()
}

function failedToApi(text) {
  return String(text || '').split(/\n+/).map((x) => x.trim()).filter(Boolean).map((line) => {
    const [id, ...why] = line.split(/[:：\s]+/)
    return { id: /^\d+$/.test(id) ? Number(id) : id, reason: why.join(' ') }
  })
}

export const supplierWithdrawals = {
  title: '供应商提现', hint: '审核供应商的提现申请；通过的进入下一个银行打款批次（老板导出），银行回执后确认每笔成功或失败，失败的金额退回供应商账户。',
  path: '/admin/suppliers/withdrawals', lookups: supplierNames,
  filters: [{ key: 'status', label: '全部状态', options: opts(WITHDRAWAL), default: 'pending' },
    { key: 'supplier_id', label: '全部供应商', options: supplierOptions, filterable: true }],
  columns: [
    { prop: 'id', label: '#', width: 60 }, { label: '供应商', width: 100, render: (r, l) => l.suppliers?.[r.supplier_id] || `#${r.supplier_id}` }, { prop: 'amount_fen', label: '金额', fmt: 'fen' },
    { prop: 'fee_fen', label: '手续费', fmt: 'fen' }, { prop: 'net_fen', label: '实付', fmt: 'fen' },
    { label: '收款卡', width: 170, render: (r) => `${r.bank_name} ${r.card_no}` }, { prop: 'status', label: '状态', map: WITHDRAWAL, tag: TAGS },
    { prop: 'batch_no', label: '批次', width: 140 }, { prop: 'created_at', label: '申请时间', fmt: 'time', width: 150 }],
  expand: (r) => [['户名', r.account_name], ['审核', r.reviewed_by || (r.auto_approved ? '自动通过' : '—')], ['审核意见', r.review_note || '—'],
    ['失败原因', r.fail_reason || '—'], ['打款时间', fmtTime(r.paid_at)]],
  toolbar: [
    { label: '生成打款批次', perm: 'suppliers.pay', type: 'warning', run: exportBatch },
    { label: '确认批次结果', perm: 'suppliers.payouts', run: (ctx) => ctx.openForm({
      label: '确认批次结果', title: '确认银行批次结果', path: (_r, v) => `/admin/suppliers/withdrawals/batches/${encodeURIComponent(v.batch_no.trim())}/confirm`,
      intro: '按银行回执录入：成功的提现完成，失败的金额退回供应商账户。', submitText: '确认', success: '已确认批次结果',
      confirm: () => '确认后打款结果不能更改，失败的金额会退回供应商账户。继续？',
      fields: [{ key: 'batch_no', label: '批次号', required: true, toApi: () => undefined },
        { key: 'paid', label: '成功的提现', type: 'ids', placeholder: '提现编号，逗号分隔' },
        { key: 'failed', label: '失败的提现', type: 'textarea', rows: 3, placeholder: '每行一笔：编号 原因，例如 12 户名不符', toApi: failedToApi }],
    }, null) },
  ],
  actions: [
    { label: '通过', perm: 'suppliers.payouts', show: (r) => r.status === 'pending', path: (r) => `/admin/suppliers/withdrawals/${r.id}/review`,
      title: '通过提现', submitText: '通过', success: '已通过，待打款', body: () => ({ approve: true }), fields: note('审核意见'),
      confirm: (r) => `通过供应商 #${r.supplier_id} 的提现 ¥${yuan(r.amount_fen)}？通过后进入下一个银行打款批次。` },
    { label: '驳回', perm: 'suppliers.payouts', type: 'danger', show: (r) => r.status === 'pending', path: (r) => `/admin/suppliers/withdrawals/${r.id}/review`,
      title: '驳回提现', submitText: '驳回', success: '已驳回，金额退回供应商账户', body: () => ({ approve: false }), fields: note('驳回原因', true) },
  ],
}

export const reconDifferences = {
  title: '对账差异', hint: '每日用微信支付的交易账单和资金账单核对账本；对不上的每一笔列在这里，核实后写明处理结果。',
  path: '/admin/reconciliation/differences',
  filters: [{ key: 'status', label: '全部状态', options: opts({ open: '待处理', resolved: '已处理' }), default: 'open' }],
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'bill_date', label: '账单日', width: 110 },
    { prop: 'kind', label: '差异', width: 140, map: { missing_in_ledger: '账本缺少', missing_in_bill: '账单缺少', amount_mismatch: '金额不符', fund_flow_total: '资金流水合计不符' } },
    { prop: 'ref', label: '单号', width: 180 }, { prop: 'bill_fen', label: '账单金额', fmt: 'fen' }, { prop: 'ledger_fen', label: '账本金额', fmt: 'fen' },
    { prop: 'note', label: '说明', width: 160 }, { prop: 'status', label: '状态', map: { open: '待处理', resolved: '已处理' }, tag: TAGS },
    { prop: 'resolution', label: '处理结果', width: 140 }],
  toolbar: [{ label: '发起对账', perm: 'finance.manage', run: (ctx) => ctx.openForm({
    label: '发起对账', path: '/admin/reconciliation/runs', submitText: '开始对账', success: '已开始对账，稍后刷新查看差异',
    intro: '下载该日的交易账单与资金账单，与账本逐笔核对。', fields: [{ key: 'bill_date', label: '账单日', type: 'date', required: true }],
  }, null) }],
  actions: [{ label: '处理', perm: 'finance.manage', show: (r) => r.status === 'open', path: (r) => `/admin/reconciliation/differences/${r.id}/resolve`,
    success: '已处理', fields: [{ key: 'resolution', label: '处理结果', type: 'textarea', required: true, rows: 3 }] }],
}
