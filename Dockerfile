# The DataWave API image used by docker-compose.yml: the product only (no devstack, tests, bench).
FROM python:3.11-slim
WORKDIR /srv/datawave
COPY pyproject.toml README.md ./
COPY core core
COPY graph graph
COPY ingest ingest
COPY ml ml
COPY security security
COPY live live
COPY governance governance
COPY mesh mesh
COPY resolvers resolvers
COPY app app
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["datawave", "serve", "--host", "0.0.0.0"]
