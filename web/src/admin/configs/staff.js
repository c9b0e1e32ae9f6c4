// The boss's staff accounts (员工账号, staff.manage): add an operator, finance or sales
// login, change its role, disable it (its tokens stop working at once; audited).
import { opts } from './options.js'

const ROLES = { boss: '老板', operator: '运营', finance: '财务', sales: '销售' }
const GIVEN = { operator: '运营', finance: '财务', sales: '销售' } // the boss account is the tenant's own
const STATUS = { active: '正常', disabled: '已停用' }
const patch = (r) => `/admin/staff/${r.id}`

export const accounts = {
  title: '员工账号', hint: '给运营、财务、销售开后台账号；角色决定能看的菜单和能做的操作。停用或改角色后，该员工已登录的会话立即失效。',
  path: '/admin/staff', paging: 'none',
  columns: [
    { prop: 'id', label: '#', width: 60 }, { prop: 'display_name', label: '姓名' }, { prop: 'username', label: '登录名' },
    { prop: 'role', label: '角色', map: ROLES }, { prop: 'status', label: '状态', map: STATUS, tag: { active: 'success', disabled: 'info' } },
    { label: '绑定会员', render: (r) => (r.member_id ? `#${r.member_id}` : '—') }],
  create: [{ label: '新增员工', perm: 'staff.manage', path: '/admin/staff', success: '员工账号已创建',
    fields: [
      { key: 'display_name', label: '姓名', required: true, placeholder: '例如 小王' },
      { key: 'username', label: '登录名', required: true, placeholder: '字母或数字，至少 2 位' },
      { key: 'password', label: '初始密码', type: 'password', required: true, hint: '至少 8 位，当面或私下告知员工' },
      { key: 'role', label: '角色', type: 'radio', default: 'sales', options: opts(GIVEN) },
      { key: 'member_id', label: '绑定会员ID', type: 'int', hint: '可不填：员工本人的会员号，用于业绩归属' }] }],
  actions: [
    { label: '改角色', perm: 'staff.manage', method: 'PATCH', show: (r) => r.role !== 'boss' && r.status === 'active', path: patch,
      success: '角色已修改', initial: (r) => ({ role: r.role }),
      fields: [{ key: 'role', label: '角色', type: 'radio', options: opts(GIVEN) }] },
    { label: '停用', perm: 'staff.manage', type: 'danger', method: 'PATCH', show: (r) => r.role !== 'boss' && r.status === 'active', path: patch,
      body: () => ({ status: 'disabled' }), confirm: (r) => `停用「${r.display_name}」的账号？停用后立即退出登录。`, success: '已停用' },
    { label: '启用', perm: 'staff.manage', type: 'success', method: 'PATCH', show: (r) => r.status === 'disabled', path: patch,
      body: () => ({ status: 'active' }), success: '已启用' },
  ],
}
