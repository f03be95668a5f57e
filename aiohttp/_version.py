"""Version numbers: the aiohttp API level we implement and our own release."""

API_VERSION = "3.14.0"
DEPLOY_RELEASE = 1
DISTRIBUTION_VERSION = "3.14.0+deploy.1"
