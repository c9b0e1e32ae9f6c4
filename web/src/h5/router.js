import { createRouter, createWebHashHistory } from 'vue-router'
import { me } from './session.js'
import Login from './pages/Login.vue'
import Share from './pages/Share.vue'
import Home from './pages/Home.vue'
import Product from './pages/Product.vue'
import Orders from './pages/Orders.vue'
import Order from './pages/Order.vue'
import Mine from './pages/Mine.vue'
import Team from './pages/Team.vue'
import Wallet from './pages/Wallet.vue'
import Poster from './pages/Poster.vue'
import MyShop from './pages/MyShop.vue'

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/login', component: Login, meta: { title: '登录', open: true } },
    { path: '/s', component: Share, meta: { title: '好友邀请', open: true } },
    { path: '/', component: Home, meta: { title: '商城', tab: true } },
    { path: '/p/:id', component: Product, meta: { title: '商品详情' } },
    { path: '/orders', component: Orders, meta: { title: '我的订单', tab: true } },
    { path: '/orders/:id', component: Order, meta: { title: '订单详情' } },
    { path: '/me', component: Mine, meta: { title: '我的', tab: true } },
    { path: '/me/team', component: Team, meta: { title: '我的团队' } },
    { path: '/me/wallet', component: Wallet, meta: { title: '我的钱包' } },
    { path: '/me/poster', component: Poster, meta: { title: '推广海报' } },
    { path: '/me/shop', component: MyShop, meta: { title: '我的小店' } },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

router.beforeEach((to) => {
  if (!to.meta.open && !me.member) return { path: '/login', query: { next: to.fullPath } }
  document.title = `${to.meta.title} · 思语商城`
  return true
})
