// The H5 shop's member session (the mini-program's token, from a sandbox login code).
import { reactive } from 'vue'
import { makeClient } from '../api.js'

export const me = reactive({
  member: JSON.parse(localStorage.getItem('siyu.h5.member') || 'null'),
  tenant: localStorage.getItem('siyu.h5.tenant') || '',
  pendingScene: sessionStorage.getItem('siyu.h5.scene') || '',
})

export const api = makeClient('siyu.h5.token', () => {
  signOut()
  if (!location.hash.startsWith('#/login')) location.hash = '#/login'
})

export function signIn(token, member, tenant) {
  api.setToken(token)
  me.member = member
  me.tenant = tenant
  localStorage.setItem('siyu.h5.member', JSON.stringify(member))
  localStorage.setItem('siyu.h5.tenant', tenant)
}

export function setMember(member) {
  me.member = member
  localStorage.setItem('siyu.h5.member', JSON.stringify(member))
}

export function signOut() {
  api.setToken('')
  me.member = null
  localStorage.removeItem('siyu.h5.member')
}

export function rememberScene(scene) {
  me.pendingScene = scene || ''
  if (scene) sessionStorage.setItem('siyu.h5.scene', scene)
  else sessionStorage.removeItem('siyu.h5.scene')
}

export const isPromoter = () => me.member && me.member.promoter_status === 'active'
