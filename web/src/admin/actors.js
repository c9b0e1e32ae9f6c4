// Who did something, as the audit log and the histories name it: a staff or supplier account
// by its number, the scheduler's jobs, WeChat Pay; never the token's raw `kind:id`.
const ACTORS = { demo: '演示数据', cli: '命令行', system: '系统', wechatpay: '微信支付', platform: '平台运营' }
const ACTOR_KINDS = { staff: '员工', supplier_user: '供应商账号', supplier: '供应商账号', member: '会员', system: '系统任务', login: '登录尝试' }
export function actorName(actor) {
  if (!actor) return '—'
  if (ACTORS[actor]) return ACTORS[actor]
  const [kind, rest] = actor.split(/:(.*)/s)
  if (!ACTOR_KINDS[kind]) return actor
  return kind === 'system' || kind === 'login' ? `${ACTOR_KINDS[kind]}（${rest}）` : `${ACTOR_KINDS[kind]} #${rest}`
}
