export const STATUS = { created: '待支付', paid: '待发货', shipped: '已发货', received: '已收货', completed: '已完成', cancelled: '已取消', refunding: '退款中', refunded: '已退款' }
