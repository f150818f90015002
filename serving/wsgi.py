"""gunicorn entry point: `gunicorn -c serving/gunicorn_conf.py serving.wsgi:app`."""
from hellohome.config import get_settings
from serving.app import create_app

app = create_app(get_settings(), preload_models=True)
