# The risk checklist, case records and MARAC referrals arrive with the risk issue.
