import { createRouter, createWebHashHistory } from 'vue-router'
import { session } from './session.js'
import Login from './Login.vue'
import Layout from './Layout.vue'
import { MENU, allowed, homeFor } from './menu.js'

const children = MENU.flatMap((g) => g.items).map((i) => ({
  path: i.path, component: i.component, meta: { title: i.title, item: i },
}))

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/login', component: Login, meta: { title: '登录' } },
    { path: '/', component: Layout, redirect: '/home', children: [
      { path: 'home', redirect: () => '/' + homeFor(session.staff?.role) },
      ...children,
    ] },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

router.beforeEach((to) => {
  if (to.path !== '/login' && !session.staff) return '/login'
  // a page the role may not open leads back to its own first page
  if (to.meta.item && session.staff && !allowed(to.meta.item, session.staff.role)) return '/home'
  document.title = `${to.meta.title || '管理后台'} · 思语`
  return true
})
