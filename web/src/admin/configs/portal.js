// The supplier's own portal (role supplier, its own rows only): products it sells
// through the brand (reviewed), its sub-orders to ship and their after-sales, its
// income and statement, withdrawals to its bank card.
import { ElMessageBox } from 'element-plus'
import { api } from '../session.js'
import { yuan } from '../../api.js'
import { opts } from './options.js'
import { REVIEW, SUBORDER, WITHDRAWAL, subOrderColumns, subOrderExpand, statementColumns, download } from './suppliers.js'

const TAGS = { pending: 'warning', approved: 'success', rejected: 'danger', open: 'warning', shipped: 'success', paid: 'success', failed: 'danger' }
const money = (label, key, hint) => ({ key, label, type: 'yuan', hint })

export const myProducts = {
  title: '我的商品', hint: '新建或修改价格、成本后需品牌方审核，通过后上架；库存随时可调。',
  path: '/admin/supplier/products',
  filters: [{ key: 'review_status', label: '全部状态', options: opts(REVIEW) }],
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'name', label: '商品', width: 160 }, { prop: 'category', label: '分类' },
    { label: '规格', width: 220, render: (r) => r.skus.map((s) => `${s.name} ¥${yuan(s.price_fen)} 库存${s.stock}`).join('；') },
    { label: '审核', render: (r) => REVIEW[r.review?.review_status] || '—' }, { label: '审核意见', render: (r) => r.review?.review_note || '—' },
    { prop: 'on_shelf', label: '上架', fmt: 'bool' }],
  create: [{ label: '新建商品', perm: 'supplier.portal', path: '/admin/supplier/products', success: '已提交审核',
    intro: '先建一个规格，更多规格可在审核后添加。价格与成本按元填写。',
    fields: [{ key: 'name', label: '商品名称', required: true }, { key: 'subtitle', label: '副标题' }, { key: 'category', label: '分类' },
      { key: 'image_url', label: '主图地址', placeholder: 'https://…' }, { key: 'description', label: '描述', type: 'textarea' },
      { key: 'sku_name', label: '规格名称', api: 'skus[0].name', required: true, placeholder: '例如 250g 礼盒' },
      { ...money('售价', 'sku_price'), api: 'skus[0].price_fen', required: true },
      { ...money('成本', 'sku_cost', '品牌方据此与您结算'), api: 'skus[0].cost_fen' },
      { key: 'sku_stock', label: '库存', type: 'int', api: 'skus[0].stock' }] }],
  actionsWidth: 220,
  actions: [
    { label: '编辑', perm: 'supplier.portal', method: 'PATCH', path: (r) => `/admin/supplier/products/${r.id}`, success: '已保存（改价、改成本需重新审核）',
      initial: (r) => ({ ...r, price: r.skus[0]?.price_fen, cost: r.skus[0]?.cost_fen, __sku: r.skus[0]?.id,
        __price: r.skus[0]?.price_fen, __cost: r.skus[0]?.cost_fen }),
      fields: (r) => [{ key: 'name', label: '商品名称', required: true }, { key: 'subtitle', label: '副标题' }, { key: 'category', label: '分类' },
        { key: 'image_url', label: '主图地址' }, { key: 'description', label: '描述', type: 'textarea' },
        ...(r?.skus[0] ? [{ ...money(`${r.skus[0].name} 售价`, 'price'), api: 'skus[0].price_fen' }, { ...money(`${r.skus[0].name} 成本`, 'cost'), api: 'skus[0].cost_fen' }] : [])],
      // the API matches SKU changes by id; only a changed price or cost is sent (it is reviewed again)
      transform: (b, v) => {
        const sku = { id: v.__sku }
        if (b.skus?.[0]?.price_fen !== undefined && b.skus[0].price_fen !== v.__price) sku.price_fen = b.skus[0].price_fen
        if (b.skus?.[0]?.cost_fen !== undefined && b.skus[0].cost_fen !== v.__cost) sku.cost_fen = b.skus[0].cost_fen
        const { skus, ...rest } = b
        return Object.keys(sku).length > 1 ? { ...rest, skus: [sku] } : rest
      } },
    { label: '调库存', perm: 'supplier.portal', path: (_r, v) => `/admin/supplier/skus/${v.sku_id}/stock`, success: '库存已调整',
      fields: (r) => [{ key: 'sku_id', label: '规格', type: 'select', required: true, toApi: () => undefined,
        default: r?.skus[0]?.id, options: (r?.skus || []).map((s) => ({ value: s.id, label: `${s.name}（库存 ${s.stock}）` })) },
      { key: 'delta', label: '增减', type: 'int', required: true, hint: '正数入库，负数出库，例如 50 或 -5' }] },
    { label: '重新提交', perm: 'supplier.portal', show: (r) => r.review?.review_status === 'rejected', path: (r) => `/admin/supplier/products/${r.id}/resubmit`,
      confirm: (r) => `把「${r.name}」重新提交审核？`, success: '已重新提交' },
  ],
}

async function afterSales(row, ctx) {
  const refunds = (await api.get(`/admin/supplier/orders/${row.id}/refunds`)).items.filter((r) => r.status === 'pending')
  if (!refunds.length) { await ElMessageBox.alert('这张子订单没有待处理的售后申请。', '售后', { confirmButtonText: '知道了' }).catch(() => {}); return }
  for (const r of refunds) {
    let decision
    try {
      await ElMessageBox.confirm(`退款单 ${r.refund_no}：¥${yuan(r.amount_fen)}，原因：${r.reason || '未填写'}。同意后钱款原路退回买家，不能撤回。`, '处理售后',
        { confirmButtonText: '同意退款', cancelButtonText: '拒绝', distinguishCancelAndClose: true, type: 'warning' })
      decision = 'approve'
    } catch (action) { decision = action === 'cancel' ? 'reject' : null }
    if (decision === 'approve') await api.post(`/admin/supplier/refunds/${r.id}/approve`, {})
    if (decision === 'reject') {
      const { value } = await ElMessageBox.prompt('拒绝原因（买家可见）', '拒绝退款', { confirmButtonText: '拒绝', cancelButtonText: '取消',
        inputValidator: (v) => (!!v && v.trim().length > 0) || '请填写拒绝原因' })
      await api.post(`/admin/supplier/refunds/${r.id}/reject`, { reason: value })
    }
  }
  await ctx.reload()
}

export const myOrders = {
  title: '我的订单', hint: '买家下单后，您的商品拆成子订单由您发货；售后申请由您决定。',
  path: '/admin/supplier/orders', filters: [{ key: 'status', label: '全部状态', options: opts(SUBORDER), default: 'open' }],
  columns: subOrderColumns, expand: subOrderExpand,
  actions: [
    { label: '发货', perm: 'supplier.portal', show: (r) => r.status === 'open', path: (r) => `/admin/supplier/orders/${r.id}/ship`, title: '子订单发货',
      submitText: '确认发货', success: '已发货',
      fields: [{ key: 'company', label: '物流公司', required: true, placeholder: '例如 顺丰速运' }, { key: 'tracking_no', label: '运单号', required: true, placeholder: '例如 SF1234567890' }] },
    { label: '售后', perm: 'supplier.portal', run: afterSales },
  ],
}

export const myStatement = {
  title: '收入与对账单', hint: '订单收入先冻结，过了售后期结算为可提现；每一笔进出都在对账单里。',
  path: '/admin/supplier/statement', columns: statementColumns,
  summary: async () => {
    const inc = await api.get('/admin/supplier/income')
    return [['冻结中', '¥' + yuan(inc.frozen_fen)], ['可提现', '¥' + yuan(inc.available_fen)]]
  },
  toolbar: [{ label: '导出 CSV', perm: 'supplier.portal', run: async () => download(await api.blob('/admin/supplier/statement.csv'), 'statement.csv') }],
}

export const myWithdrawals = {
  title: '提现', hint: '提现到您在这里设置的银行卡，品牌方审核后按银行批次打款。',
  path: '/admin/supplier/withdrawals', filters: [{ key: 'status', label: '全部状态', options: opts(WITHDRAWAL) }],
  summary: async () => {
    const [inc, me] = await Promise.all([api.get('/admin/supplier/income'), api.get('/admin/supplier/me')])
    return [['可提现', '¥' + yuan(inc.available_fen)], ['收款卡', me.bank_card ? `${me.bank_card.bank_name} ${me.bank_card.card_no}` : '未设置']]
  },
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'amount_fen', label: '金额', fmt: 'fen' }, { prop: 'fee_fen', label: '手续费', fmt: 'fen' },
    { prop: 'net_fen', label: '到账', fmt: 'fen' }, { label: '收款卡', width: 170, render: (r) => `${r.bank_name} ${r.card_no}` },
    { prop: 'status', label: '状态', map: WITHDRAWAL, tag: TAGS }, { prop: 'review_note', label: '审核意见' },
    { prop: 'created_at', label: '申请时间', fmt: 'time', width: 150 }, { prop: 'paid_at', label: '到账时间', fmt: 'time', width: 150 }],
  create: [
    { label: '申请提现', perm: 'supplier.portal', path: '/admin/supplier/withdrawals', success: '已申请，等待审核',
      fields: [{ ...money('金额', 'amount_fen'), required: true }],
      body: () => ({ client_token: `web-${Date.now()}-${Math.random().toString(36).slice(2, 10)}` }),
      confirm: (_r, v) => `提现 ¥${v.amount_fen} 到您的收款卡？申请后这笔钱从可提现余额中扣出，驳回或打款失败会退回。` },
    { label: '设置收款卡', perm: 'supplier.portal', method: 'PUT', path: '/admin/supplier/bank-card', success: '收款卡已保存',
      intro: '卡号加密保存，页面只显示后四位。',
      fields: [{ key: 'bank_name', label: '开户行', required: true }, { key: 'account_name', label: '户名', required: true }, { key: 'card_no', label: '卡号', required: true }] },
  ],
}

