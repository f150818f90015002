# Image for the Python deployables (CLI, consumers, serving, Airflow tasks) in docker-compose.yaml.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.txt
COPY include ./include
RUN pip install --no-cache-dir --no-deps -e .
COPY consumers ./consumers
COPY serving ./serving
ENV HH_HOME=/app
