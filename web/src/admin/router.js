import { createRouter, createWebHashHistory } from 'vue-router'
import { session } from './session.js'
import Login from './Login.vue'
import Layout from './Layout.vue'
import { MENU } from './menu.js'

const children = MENU.flatMap((g) => g.items).map((i) => ({
  path: i.path, component: i.component, meta: { title: i.title, roles: i.roles },
}))

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/login', component: Login, meta: { title: '登录' } },
    { path: '/', component: Layout, redirect: '/home', children: [
      { path: 'home', redirect: () => ({ sales: '/scrm/customers', platform: '/platform/tenants' }[session.staff?.role] || '/dashboard') },
      ...children,
    ] },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

router.beforeEach((to) => {
  if (to.path !== '/login' && !session.staff) return '/login'
  const roles = to.meta.roles
  if (roles && session.staff && !roles.includes(session.staff.role)) return '/home'
  document.title = `${to.meta.title || '管理后台'} · 思语`
  return true
})
