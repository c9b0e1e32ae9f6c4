// The customers' tag library (客户标签, scrm.manage): groups of tags the sales staff put
// on their customers (我的客户), a group single-choice or not. Creating, renaming and
// removing them had API routes and no page; a removed tag leaves every customer.
import { api } from '../session.js'
import { yuan } from '../../api.js'
import { opts } from './options.js'

const tagChoices = (r) => opts(Object.fromEntries((r.tags || []).map((t) => [t.id, t.name])))

export const tagGroups = {
  title: '客户标签', hint: '销售在「我的客户」里给客户打的标签，按组管理；单选组里一个客户只能有其中一个标签。删除标签会从所有客户身上移除。',
  path: '/scrm/tag-groups', paging: 'none', empty: '还没有标签组',
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'name', label: '标签组', width: 160 },
    { label: '选择方式', width: 100, render: (r) => (r.exclusive ? '单选' : '多选') },
    { label: '标签', render: (r) => (r.tags || []).map((t) => t.name).join('、') || '—' }],
  create: [{ label: '新建标签组', perm: 'scrm.manage', path: '/admin/scrm/tag-groups', success: '标签组已创建',
    fields: [
      { key: 'name', label: '组名', required: true, placeholder: '例如 客户等级' },
      { key: 'exclusive', label: '单选', type: 'switch', hint: '开启后一个客户在本组只能有一个标签' },
      { key: 'tags', label: '标签', type: 'list', placeholder: '用逗号分隔，例如 A类，B类' }] }],
  actions: [
    { label: '添加标签', perm: 'scrm.manage', path: (r) => `/admin/scrm/tag-groups/${r.id}/tags`, success: '标签已添加',
      fields: [{ key: 'name', label: '标签名', required: true }] },
    { label: '改名', perm: 'scrm.manage', method: 'PATCH', path: (r) => `/admin/scrm/tag-groups/${r.id}`, success: '已修改',
      initial: (r) => ({ name: r.name, exclusive: r.exclusive }),
      fields: [{ key: 'name', label: '组名', required: true }, { key: 'exclusive', label: '单选', type: 'switch' }] },
    { label: '删除标签', perm: 'scrm.manage', type: 'danger', method: 'DEL', show: (r) => (r.tags || []).length > 0,
      path: (r, v) => `/admin/scrm/tags/${v.tag_id}`, success: '标签已删除',
      confirm: (r, v) => `删除标签「${(r.tags.find((t) => String(t.id) === String(v.tag_id)) || {}).name}」？所有客户身上的这个标签都会移除。`,
      fields: (r) => [{ key: 'tag_id', label: '标签', type: 'select', required: true, options: tagChoices(r) }] },
    { label: '删除组', perm: 'scrm.manage', type: 'danger', method: 'DEL', path: (r) => `/admin/scrm/tag-groups/${r.id}`,
      confirm: (r) => `删除标签组「${r.name}」和组里的 ${(r.tags || []).length} 个标签？`, success: '标签组已删除' },
  ],
}

// Auto-tagging rules (自动打标, scrm.manage): a customer gets a tag by itself when it came
// through a channel, wrote a keyword, or bought enough. The rules had API routes and no page.
const RULE_KIND = { channel: '来源渠道', keyword: '聊天关键词', purchase: '消费' }
const tagOptions = async () => (await api.get('/scrm/tag-groups')).items
  .flatMap((g) => g.tags.map((t) => ({ value: t.id, label: `${g.name} · ${t.name}` })))
const ruleText = (r) => {
  const p = r.params || {}
  if (r.kind === 'channel') return `来自 ${(p.channels || []).join('、')}`
  if (r.kind === 'keyword') return `说到 ${(p.keywords || []).join('、')}`
  const parts = [p.min_orders ? `下单满 ${p.min_orders} 笔` : '', p.min_total_fen ? `累计消费满 ¥${yuan(p.min_total_fen)}` : '',
    p.product_ids?.length ? `买过商品 ${p.product_ids.map((i) => '#' + i).join('、')}` : '']
  return parts.filter(Boolean).join(' 且 ') || '—'
}
const rulePath = (r) => `/admin/scrm/tag-rules/${r.id}`

export const tagRules = {
  title: '自动打标规则', hint: '满足条件的客户自动打上标签：来自某个渠道（员工活码的渠道）、聊天中说到关键词，或消费达到门槛。',
  path: '/admin/scrm/tag-rules', paging: 'none', empty: '还没有自动打标规则',
  lookups: async () => ({ tags: Object.fromEntries((await tagOptions()).map((o) => [o.value, o.label])) }),
  columns: [
    { prop: 'id', label: '#', width: 60 }, { label: '标签', render: (r, l) => l.tags?.[r.tag_id] || `#${r.tag_id}` },
    { prop: 'kind', label: '条件类型', map: RULE_KIND, width: 110 }, { label: '条件', render: ruleText },
    { label: '状态', width: 90, render: (r) => (r.active ? '生效中' : '已停用') }],
  create: [{ label: '新建规则', perm: 'scrm.manage', path: '/admin/scrm/tag-rules', success: '规则已创建',
    fields: [
      { key: 'tag_id', label: '打上标签', type: 'select', required: true, load: tagOptions, filterable: true },
      { key: 'kind', label: '条件类型', type: 'radio', default: 'channel', options: opts(RULE_KIND) },
      { key: 'channels', label: '来源渠道', type: 'list', required: true, api: 'params.channels', when: (v) => v.kind === 'channel',
        placeholder: '例如 门店，展会', hint: '员工活码上写的渠道名，逗号分隔' },
      { key: 'keywords', label: '关键词', type: 'list', required: true, api: 'params.keywords', when: (v) => v.kind === 'keyword',
        placeholder: '例如 多少钱，优惠' },
      { key: 'min_orders', label: '下单满', type: 'int', suffix: '笔', api: 'params.min_orders', when: (v) => v.kind === 'purchase' },
      { key: 'min_total_fen', label: '累计消费满', type: 'yuan', api: 'params.min_total_fen', when: (v) => v.kind === 'purchase' },
      { key: 'product_ids', label: '买过商品', type: 'ids', api: 'params.product_ids', when: (v) => v.kind === 'purchase',
        placeholder: '商品ID，逗号分隔（可不填）' },
      { key: 'active', label: '立即生效', type: 'switch', default: true }] }],
  actions: [
    { label: '停用', perm: 'scrm.manage', type: 'warning', method: 'PATCH', show: (r) => r.active, path: rulePath,
      body: () => ({ active: false }), success: '已停用' },
    { label: '启用', perm: 'scrm.manage', type: 'success', method: 'PATCH', show: (r) => !r.active, path: rulePath,
      body: () => ({ active: true }), success: '已启用' },
    { label: '删除', perm: 'scrm.manage', type: 'danger', method: 'DEL', path: rulePath,
      confirm: () => '删除这条规则？已打上的标签保留。', success: '规则已删除' },
  ],
}
