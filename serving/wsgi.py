"""gunicorn entry point: `gunicorn -c serving/gunicorn_conf.py serving.wsgi:app`."""
from serving.app import create_app

app = create_app(preload_models=True)
