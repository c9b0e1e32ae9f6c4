// Words for the plan form and its diffs (docs/plans.md is the format).
export const FACTS = {
  direct_referrals: '直推人数', indirect_referrals: '间推人数', own_sales_fen: '个人消费（分）',
  direct_team_sales_fen: '直推业绩（分）', indirect_team_sales_fen: '间推业绩（分）', team_sales_fen: '团队业绩（分）',
  cumulative_recharge_fen: '累计充值（分）', single_recharge_fen: '单笔充值（分）', product_pieces: '购买指定商品件数',
}
export const KINDS = {
  dist_l1: '一级佣金', dist_l2: '二级佣金', dist_l3: '三级佣金', agent_dividend: '代理分红', peer_bonus: '平级奖',
  over_level_bonus: '越级奖', referral_lower: '推荐奖（下级）', referral_peer: '推荐奖（平级）', referral_over: '推荐奖（越级）',
  team_performance: '团队业绩奖', merchant_remainder: '商户留存',
}
export const BASES = { profit: '利润', paid: '实付金额' }

// A condition tree in one line of Chinese (money in yuan; a nested group in brackets).
// names: { levels: {key: name}, tiers: {key: name}, products: {id: name} } when known.
export function conditionText(c, nested = false, names = {}) {
  if (!c) return '不自动升级（仅后台设置）'
  if (c.all || c.any) {
    const parts = (c.all || c.any).map((x) => conditionText(x, true, names))
    const text = parts.join(c.all ? ' 且 ' : ' 或 ')
    return nested && parts.length > 1 ? `（${text}）` : text
  }
  const name = (FACTS[c.fact] || c.fact).replace('（分）', '')
  const n = (kind, key) => names[kind]?.[key] || key
  const extra = c.min_level ? `（代理≥${n('levels', c.min_level)}）` : c.min_tier ? `（推广≥${n('tiers', c.min_tier)}）`
    : c.product_id ? `（${names.products?.[c.product_id] || '商品 #' + c.product_id}）` : ''
  const min = String(c.fact).endsWith('_fen') && typeof c.min === 'number' ? `¥${(c.min / 100).toFixed(2)}` : c.min
  return `${name}${extra} ≥ ${min}`
}

// Flatten a document to path → value, for a version diff.
export function flatten(value, prefix = '', out = {}) {
  if (Array.isArray(value)) {
    if (!value.length) out[prefix] = '[]'
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out))
  } else if (value && typeof value === 'object') {
    const keys = Object.keys(value)
    if (!keys.length) out[prefix] = '{}'
    keys.forEach((k) => flatten(value[k], prefix ? `${prefix}.${k}` : k, out))
  } else {
    out[prefix] = value === null ? 'null' : String(value)
  }
  return out
}

export function diff(a, b) {
  const fa = flatten(a || {})
  const fb = flatten(b || {})
  const paths = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort()
  return paths.filter((p) => fa[p] !== fb[p]).map((p) => ({
    path: p, before: fa[p] ?? '', after: fb[p] ?? '', change: !(p in fa) ? '新增' : !(p in fb) ? '删除' : '修改',
  }))
}
