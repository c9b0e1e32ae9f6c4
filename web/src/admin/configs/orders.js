// After-sales (售后): the buyers' refund requests waiting for a decision, and every refund
// with its WeChat Pay outcome (docs/finance.md). Approving sends the money back the way
// it was paid; rejecting leaves the order as it was and tells the buyer the note.
import { yuan } from '../../api.js'
import { opts } from './options.js'

const REFUND = { requested: '待审核', processing: '退款中', succeeded: '已退款', failed: '退款失败', rejected: '已拒绝' }
const TAGS = { requested: 'warning', processing: 'primary', succeeded: 'success', failed: 'danger', rejected: 'info' }

export const refunds = {
  title: '售后退款', hint: '买家在小程序提交的退款申请在这里审核：同意后款项原路退回（微信支付、储值），佣金随之取消或冲回；拒绝需写明说明，买家可见。',
  path: '/admin/shop/refunds', empty: '没有退款记录',
  filters: [{ key: 'status', label: '全部状态', options: opts(REFUND), default: 'requested' }],
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'refund_no', label: '退款单号', width: 170 },
    { prop: 'order_no', label: '订单号', width: 200 }, { label: '范围', render: (r) => (r.whole ? '整单' : `${r.order_line_ids.length} 个商品`) },
    { prop: 'amount_fen', label: '金额', fmt: 'fen' }, { prop: 'reason', label: '原因', width: 160 },
    { prop: 'status', label: '状态', map: REFUND, tag: TAGS }, { prop: 'requested_by', label: '申请方', width: 90 },
    { prop: 'created_at', label: '申请时间', fmt: 'time', width: 150 }],
  expand: (r) => [['含运费', r.freight_fen ? `¥${yuan(r.freight_fen)}` : '无'], ['退回储值', `¥${yuan(r.stored_fen)}`],
    ['只退款不退货', r.keeps_goods ? '是' : '否'], ['处理人', r.decided_by], ['微信退款状态', r.wechat_status], ['失败原因', r.failure]],
  actions: [
    { label: '同意退款', perm: 'refunds.manage', show: (r) => r.status === 'requested', path: (r) => `/admin/shop/refunds/${r.id}/approve`,
      confirmTitle: '同意退款', confirmText: '同意退款', success: '已同意，退款已提交微信支付',
      confirm: (r) => `同意退款 ¥${yuan(r.amount_fen)}（订单 ${r.order_no}）？款项原路退回，提交后不能撤销。` },
    { label: '拒绝', perm: 'refunds.manage', type: 'danger', show: (r) => r.status === 'requested', title: '拒绝退款申请', submitText: '拒绝',
      path: (r) => `/admin/shop/refunds/${r.id}/reject`, success: '已拒绝',
      fields: [{ key: 'note', label: '拒绝说明', placeholder: '例如 商品已签收超过 7 天', hint: '买家可见，最多 64 个字' }] },
  ],
}
