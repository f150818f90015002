# Image for the Python deployables (CLI, consumers, serving, Airflow tasks) in docker-compose.yaml.
FROM python:3.11-slim
WORKDIR /app
# mysqlclient (Airflow's MySQL provider) builds from source
RUN apt-get update && apt-get install -y --no-install-recommends default-libmysqlclient-dev pkg-config build-essential \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.txt
COPY include ./include
RUN pip install --no-cache-dir --no-deps -e .
COPY consumers ./consumers
COPY serving ./serving
COPY dags ./dags
COPY plugins ./plugins
ENV HH_HOME=/app
