// The signed-in staff member and the API client the pages share.
import { reactive } from 'vue'
import { ElMessage } from 'element-plus'
import { makeClient, ApiError } from '../api.js'

export const session = reactive({
  staff: JSON.parse(localStorage.getItem('siyu.admin.staff') || 'null'),
  tenant: JSON.parse(localStorage.getItem('siyu.admin.tenant') || 'null'),
  // what the role may do, as the API's permission names (backend/auth/policy.py)
  permissions: JSON.parse(localStorage.getItem('siyu.admin.permissions') || '[]'),
})
// A session saved before permissions were kept: log in again.
if (session.staff && session.staff.role !== 'platform' && !session.permissions.length) session.staff = null

// Whether the signed-in role holds a permission (menus and buttons follow it; the API
// enforces it anyway).
export const can = (perm) => !perm || session.permissions.includes(perm)

export const api = makeClient('siyu.admin.token', () => {
  logout()
  if (!location.hash.startsWith('#/login')) location.hash = '#/login'
})

export function login(token, staff, tenant, permissions = []) {
  api.setToken(token)
  session.staff = staff
  session.tenant = tenant
  session.permissions = permissions
  localStorage.setItem('siyu.admin.staff', JSON.stringify(staff))
  localStorage.setItem('siyu.admin.tenant', JSON.stringify(tenant))
  localStorage.setItem('siyu.admin.permissions', JSON.stringify(permissions))
}

export function logout() {
  api.setToken('')
  session.staff = null
  session.tenant = null
  session.permissions = []
  localStorage.removeItem('siyu.admin.staff')
  localStorage.removeItem('siyu.admin.tenant')
  localStorage.removeItem('siyu.admin.permissions')
}

export const ROLE_TITLES = { boss: '老板', operator: '运营', finance: '财务', sales: '销售', supplier: '供应商', platform: '平台' }

// Show an API error: the message as a toast; returns the field errors for the form.
export function showError(err) {
  if (err instanceof ApiError) {
    const fields = err.fieldErrors()
    const first = Object.values(fields)[0]
    ElMessage.error(first ? `${err.message}：${first}` : err.message)
    return fields
  }
  ElMessage.error(String(err?.message || err))
  return {}
}

// Move the keyboard to the first field the API (or the page) marked wrong, once the
// page has drawn the messages. root: the form's element (or a component with $el).
export function focusFirstError(root) {
  setTimeout(() => {
    const el = root?.$el || root || document
    el.querySelector?.('.is-error input:not([type=hidden]), .is-error textarea, .cell:has(.cell-error) input')?.focus()
  }, 0)
}

// A submit button nobody sees, so Enter in any field of a form submits it (forms whose
// visible button sits in a dialog footer, outside the <form>).
export const HIDDEN_SUBMIT = 'position:absolute;width:1px;height:1px;opacity:0;pointer-events:none'
