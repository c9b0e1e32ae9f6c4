// The signed-in staff member and the API client the pages share.
import { reactive } from 'vue'
import { ElMessage } from 'element-plus'
import { makeClient, ApiError } from '../api.js'

export const session = reactive({
  staff: JSON.parse(localStorage.getItem('siyu.admin.staff') || 'null'),
  tenant: JSON.parse(localStorage.getItem('siyu.admin.tenant') || 'null'),
})

export const api = makeClient('siyu.admin.token', () => {
  logout()
  if (!location.hash.startsWith('#/login')) location.hash = '#/login'
})

export function login(token, staff, tenant) {
  api.setToken(token)
  session.staff = staff
  session.tenant = tenant
  localStorage.setItem('siyu.admin.staff', JSON.stringify(staff))
  localStorage.setItem('siyu.admin.tenant', JSON.stringify(tenant))
}

export function logout() {
  api.setToken('')
  session.staff = null
  session.tenant = null
  localStorage.removeItem('siyu.admin.staff')
  localStorage.removeItem('siyu.admin.tenant')
}

export const ROLE_TITLES = { boss: '老板', operator: '运营', finance: '财务', sales: '销售', platform: '平台' }

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
