"""Reports: the migration report (HTML and JSON) and the controller's sign-off that closes a
migration. Reports hold ids, people's e-mail addresses, counts and digests; never patient data.
"""
