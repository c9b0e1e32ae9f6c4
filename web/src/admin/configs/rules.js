// The brand's own rules, each a form where its list is: who binds to whom and how a member
// becomes a promoter (会员与团队 → 绑定与推广规则, tenant.manage; PATCH /admin/tenant/policy),
// and settlement and withdrawals (提现审核 → 提现规则, finance.manage; PATCH /admin/finance/settings).
// Also the promoter application queue (推广员申请) that promoter_mode "apply" fills.
import { api } from '../session.js'
import { yuan, fmtTime } from '../../api.js'
import { opts } from './options.js'

// A rules form opened with the current values (FormDialog's props).
export async function ruleForm(spec) {
  const current = await spec.load()
  return { ...spec, initial: spec.initial(current), submit: (body) => api[spec.method.toLowerCase()](spec.path, body) }
}

export const BIND_ON = { visit: '打开分享即绑定', purchase: '首次付款后绑定' }
export const PROMOTER_MODE = { auto: '所有会员自动成为', apply: '会员申请、后台审核', condition: '满足条件自动成为' }
const CONDITION = { first_purchase: '首次购买', spent: '累计消费满', bought: '购买指定商品' }
const isCondition = (v) => v.promoter_mode === 'condition'

export const bindingPolicy = {
  title: '绑定与推广规则', method: 'PATCH', path: '/admin/tenant/policy', success: '规则已保存', width: '640px',
  load: () => api.get('/admin/tenant'),
  initial: (t) => ({ bind_on: t.bind_on, bind_expire_days: t.bind_expire_days ?? '', allow_rebind: !!t.allow_rebind,
    promoter_mode: t.promoter_mode, condition_kind: t.promoter_condition?.kind || 'first_purchase',
    condition_min_fen: t.promoter_condition?.min_fen ?? '', condition_products: t.promoter_condition?.product_ids || [] }),
  summary: (t) => [['绑定时机', BIND_ON[t.bind_on]], ['绑定有效期', t.bind_expire_days ? `${t.bind_expire_days} 天内无购买则解绑` : '永久'],
    ['允许改绑', t.allow_rebind ? '允许' : '不允许'], ['成为推广员', PROMOTER_MODE[t.promoter_mode]]],
  fields: [
    { key: 'bind_on', label: '绑定时机', type: 'radio', options: opts(BIND_ON), hint: '首次付款后绑定：分享先记下，付款时才绑到分享人' },
    { key: 'bind_expire_days', label: '绑定有效期', type: 'int', suffix: '天', hint: '这么多天没有购买就解绑，每次购买重新计算；留空或 0 为永久',
      toApi: (v) => (v === '' || v === null || v === undefined ? 0 : Number(v)) },
    { key: 'allow_rebind', label: '允许改绑', type: 'switch', hint: '已绑定的会员再打开别人的分享时改绑到新的推广员' },
    { key: 'promoter_mode', label: '成为推广员', type: 'radio', options: opts(PROMOTER_MODE),
      hint: '会员申请：申请在「推广员申请」里审核' },
    { key: 'condition_kind', label: '条件', type: 'radio', options: opts(CONDITION), when: isCondition, api: 'promoter_condition.kind' },
    { key: 'condition_min_fen', label: '累计消费满', type: 'yuan', required: true, api: 'promoter_condition.min_fen',
      when: (v) => isCondition(v) && v.condition_kind === 'spent' },
    { key: 'condition_products', label: '指定商品', type: 'ids', required: true, placeholder: '商品ID，逗号分隔',
      api: 'promoter_condition.product_ids', when: (v) => isCondition(v) && v.condition_kind === 'bought' },
  ],
}

export const financeRules = {
  title: '提现规则', method: 'PATCH', path: '/admin/finance/settings', success: '提现规则已保存', width: '640px',
  load: () => api.get('/admin/finance/settings'),
  initial: (s) => ({ ...s }),
  summary: (s) => [['结算', `订单完成 ${s.settle_after_days} 天后佣金可提现`], ['最低提现', `¥${yuan(s.withdraw_min_fen)}`],
    ['手续费', `${s.withdraw_fee_rate}（最低 ¥${yuan(s.withdraw_fee_min_fen)}）`],
    ['自动通过', s.auto_approve_below_fen ? `¥${yuan(s.auto_approve_below_fen)} 以下` : '全部人工审核'],
    ['每日限额', s.withdraw_daily_limit_fen ? `¥${yuan(s.withdraw_daily_limit_fen)}` : '不限'],
    ['每日次数', s.withdraw_daily_count ? `${s.withdraw_daily_count} 次` : '不限']],
  fields: [
    { key: 'settle_after_days', label: '结算天数', type: 'int', required: true, suffix: '天', hint: '订单完成（售后期结束）后多少天，冻结佣金转为可提现' },
    { key: 'withdraw_min_fen', label: '最低提现', type: 'yuan', required: true },
    { key: 'withdraw_fee_rate', label: '手续费率', required: true, placeholder: '例如 0.6%', hint: '按提现金额收取；0 为免手续费' },
    { key: 'withdraw_fee_min_fen', label: '最低手续费', type: 'yuan', required: true },
    { key: 'auto_approve_below_fen', label: '自动通过', type: 'yuan', required: true, hint: '低于此金额的提现无需审核、直接打款；0 为全部人工审核' },
    { key: 'withdraw_daily_limit_fen', label: '每日限额', type: 'yuan', hint: '每位会员每天最多提现；留空不限', emptyAs: null },
    { key: 'withdraw_daily_count', label: '每日次数', type: 'int', suffix: '次', hint: '留空不限', emptyAs: null },
    { key: 'transfer_enabled', label: '允许转账', type: 'switch', hint: '会员之间转可提现余额' },
    { key: 'transfer_min_fen', label: '最低转账', type: 'yuan', required: true },
    { key: 'recharge_min_fen', label: '最低储值', type: 'yuan', required: true },
  ],
}

const STATUS = { pending: '待审核', approved: '已通过', rejected: '已驳回' }
export const promoterApplications = {
  title: '推广员申请', hint: '「成为推广员」设为会员申请时，会员在小程序提交的申请在这里审核；驳回原因会告知申请人。',
  path: '/admin/promoter-applications', paging: 'after', empty: '暂无推广员申请',
  filters: [{ key: 'status', label: '全部状态', options: opts(STATUS), default: 'pending' }],
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'member_id', label: '会员ID', width: 90 }, { prop: 'real_name', label: '姓名' },
    { prop: 'phone', label: '手机' }, { prop: 'reason', label: '申请说明', width: 220 },
    { prop: 'status', label: '状态', map: STATUS, tag: { pending: 'warning', approved: 'success', rejected: 'info' } },
    { label: '申请时间', width: 150, render: (r) => fmtTime(r.created_at) }, { prop: 'reject_reason', label: '驳回原因' }],
  actions: [
    { label: '通过', perm: 'members.manage', show: (r) => r.status === 'pending', path: (r) => `/admin/promoter-applications/${r.id}/approve`,
      confirm: (r) => `通过「${r.real_name}」的推广员申请？`, success: '已通过，会员已成为推广员' },
    { label: '驳回', perm: 'members.manage', type: 'danger', show: (r) => r.status === 'pending', path: (r) => `/admin/promoter-applications/${r.id}/reject`,
      success: '已驳回', fields: [{ key: 'reason', label: '驳回原因', type: 'textarea', required: true, rows: 2, hint: '会告知申请人' }] },
  ],
}

// 会员等级 (VIP levels and their discounts, PUT /admin/member-levels replaces the list):
// a line per level, "1 银卡会员 0.95" (0.95 = 95 折). A member's level is set on the member.
const levelLine = (l) => `${l.level} ${l.name} ${l.discount_rate}`
function parseLevels(text) {
  return String(text || '').split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
    const [level, name, rate] = line.split(/[\s,，]+/)
    return { level: Number(level), name: name || '', discount_rate: rate || '' }
  })
}
export const memberLevels = {
  title: '会员等级设置', method: 'PUT', path: '/admin/member-levels', success: '会员等级已保存', width: '560px',
  load: () => api.get('/admin/member-levels'),
  initial: (res) => ({ levels: res.items.map(levelLine).join('\n') }),
  fields: [{ key: 'levels', label: '等级', type: 'textarea', rows: 6, placeholder: '每行一个等级：序号 名称 折扣\n1 银卡会员 0.95\n2 金卡会员 0.9',
    hint: '折扣 0.95 即 95 折，1 为不打折；清空则取消全部会员等级。会员的等级在「会员与团队」的会员详情里调整。',
    toApi: parseLevels, keepEmpty: true }],
}
