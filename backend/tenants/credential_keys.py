"""The keys of the flat credentials dict a tenant keeps (secrets encrypted at rest);
backend/wechat/credentials.py turns it into typed credential sets."""

FLAT_KEYS = (
    "mp_appid", "mp_secret",
    "oa_appid", "oa_secret", "oa_token", "oa_aes_key", "oa_original_id", "oa_message_mode",
    "pay_mchid", "pay_appid", "pay_private_key", "pay_cert_serial", "pay_apiv3_key",
    "pay_public_key", "pay_public_key_id", "pay_notify_url",
    "wecom_corpid", "wecom_secret", "wecom_agent_id", "wecom_token", "wecom_aes_key",
    "wecom_robot_key",
)
