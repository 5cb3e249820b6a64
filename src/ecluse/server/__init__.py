"""The servers: the HTTPS API (FastAPI under uvicorn, TLS), the SFTP server (asyncssh), and
`serve`, which runs both with the worker. Every request goes through the services of
`ecluse.services` and nothing else; nothing is parsed before authentication beyond what it needs.
"""
