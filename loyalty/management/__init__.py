"""``manage.py`` commands of the points engine: the scheduled jobs on demand, the import, demo data, checks."""
