"""The agent channel's people: applications, authorizations (授权管理), certificates
(代理证书) and the tenant's channel policy."""
