"""Mini-shops (分销小店): a promoter's own storefront of the brand's products."""
