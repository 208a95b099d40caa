# The DataWave API image used by docker-compose.yml.
FROM python:3.11-slim
WORKDIR /srv/datawave
COPY pyproject.toml README.md ./
COPY app app
COPY graph graph
COPY resolvers resolvers
COPY ingest ingest
COPY ml ml
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["datawave", "serve", "--host", "0.0.0.0"]
