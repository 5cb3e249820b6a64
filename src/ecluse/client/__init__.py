"""The command line as a client of an Écluse on another machine, over its HTTPS API: where
the server is and how its certificate is trusted (`connection`), the person's login session
kept in a 0600 file of their own (`session`), and the API's calls with its problems turned
back into Écluse's errors (`api`). Nothing here opens a database or a key file.
"""
