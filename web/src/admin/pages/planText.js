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

// A diff's path in the words of the plan form: "distribution.tiers[0].rates[0]" is
// "三级分销 › 推广员等级「普通推广员」 › 一级比例". doc: the document the path is read in
// (to name a tier or level by its name); an unknown key is shown as it is.
const WORDS = {
  name: '名称', cap: '单笔封顶', distribution: '三级分销', agents: '代理分红', base: '计算基数', depth: '分佣层级',
  self_purchase: '自购返佣', enabled: '开启', tiers: '推广员等级', levels: '代理等级', key: '标识', upgrade: '升级条件',
  overrides: '按商品设置', product_id: '商品', sku_id: '规格', fixed_fen: '每件金额', opt_out: '不参与分佣',
  rate: '比例', mode: '分红方式', peer_bonus_rate: '平级奖比例', over_level_bonus_rate: '越级奖比例',
  referral_bonus_fen: '推荐奖', lower: '下级', peer: '平级', over: '越级', team_performance: '团队业绩奖',
  paid_to: '发放对象', min_sales_fen: '业绩门槛', fact: '条件', min: '门槛', min_level: '最低代理等级',
  min_tier: '最低推广等级', all: '且', any: '或', excluded_products: '不参与分红商品', product_ids: '商品',
  rates: '比例',
}
const ORDINAL = ['一级', '二级', '三级']
export function pathText(path, doc = {}) {
  const out = []
  let node = doc
  let parent = ''
  for (const [, key, index] of path.matchAll(/([a-z_]+)|\[(\d+)\]/g)) {
    if (key !== undefined) {
      out.push(WORDS[key] || key)
      node = node?.[key]
      parent = key
    } else {
      const i = Number(index)
      const item = Array.isArray(node) ? node[i] : undefined
      if (parent === 'rates' || parent === 'fixed_fen') out[out.length - 1] = `${ORDINAL[i] || `第 ${i + 1} 级`}${WORDS[parent]}` // 一级比例
      else if (item && typeof item === 'object' && (item.name || item.key)) out[out.length - 1] += `「${item.name || item.key}」`
      else out[out.length - 1] += ` 第 ${i + 1} 项`
      node = item
    }
  }
  return out.join(' › ')
}
