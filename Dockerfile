# syntax=docker/dockerfile:1
# VinaSmol RAG API image. Multi-stage: the builder makes a virtual environment, the runtime stage
# copies it onto a slim Python and runs as an unprivileged user. No model weights are baked in:
# mount them at /models (HF_HOME) or set HF_HUB_OFFLINE=0 (and VINARAG_DENSE__ALLOW_DOWNLOAD=true)
# to fetch them at start.
#
#   docker build -t vinarag:cpu .                                  # CPU (default)
#   docker build --build-arg VARIANT=cu128 -t vinarag:cuda .       # CUDA 12.8 torch + bitsandbytes
#
# The CUDA variant differs only in the torch wheel: PyTorch's CUDA wheels carry their CUDA
# libraries, so the same slim runtime runs on a GPU host with the NVIDIA container toolkit.

ARG PYTHON_VERSION=3.11
ARG VARIANT=cpu

FROM python:${PYTHON_VERSION}-slim-bookworm AS builder
ARG VARIANT
ARG TORCH_VERSION=2.13.0
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# torch first, from PyTorch's index for the variant (cpu | cu126 | cu128 ...), then used as a
# constraint so nothing pulls another build (the same rule as the Makefile).
RUN pip install --index-url "https://download.pytorch.org/whl/${VARIANT}" "torch==${TORCH_VERSION}" \
 && echo "torch==${TORCH_VERSION}" > /opt/venv/constraints.txt
WORKDIR /src
COPY pyproject.toml README.md ./
COPY graph/ graph/
COPY nodes/ nodes/
COPY tools/ tools/
COPY server/ server/
COPY evals/ evals/
COPY training/ training/
RUN pip install -c /opt/venv/constraints.txt . \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
ARG VARIANT
LABEL org.opencontainers.image.title="vinarag" \
      org.opencontainers.image.description="VinaSmol RAG API (${VARIANT})" \
      org.opencontainers.image.licenses="Apache-2.0"
# OCR of scanned PDFs and page images: Tesseract with its Vietnamese model, pdftoppm.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr=5.3.* tesseract-ocr-vie=1:4.1.* poppler-utils=22.12.* \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 vinarag \
 && useradd --system --uid 10001 --gid vinarag --home-dir /app --shell /usr/sbin/nologin vinarag \
 && mkdir -p /data/tmp /models \
 && chown -R vinarag:vinarag /data /models
COPY --from=builder /opt/venv /opt/venv
COPY --chown=vinarag:vinarag configs/ /app/configs/
# Settings: the defaults file from the image; listen on every interface inside the container;
# state under /data; models under /models, offline unless told otherwise.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VINARAG_CONFIG=/app/configs/default.yaml \
    VINARAG_DATA_DIR=/data \
    VINARAG_SERVER__HOST=0.0.0.0 \
    VINARAG_SERVER__PORT=8000 \
    HF_HOME=/models \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
WORKDIR /app
USER 10001:10001
VOLUME ["/data", "/models"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["vinarag"]
CMD ["serve"]
