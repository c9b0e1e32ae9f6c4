// The customers' tag library (客户标签, scrm.manage): groups of tags the sales staff put
// on their customers (我的客户), a group single-choice or not. Creating, renaming and
// removing them had API routes and no page; a removed tag leaves every customer.
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
