"""The member portal's points pages: dashboard, activity, rewards and vouchers (``views``, ``urls``).

HTTP only, for the logged-in member's own data: pages read through ``loyalty.selectors`` and act through
the services (``loyalty.rewards``). Templates are in ``templates/loyalty/``.
"""
