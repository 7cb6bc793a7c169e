# psymodal container: the library, its command line and the Snakemake workflow.
#   docker build -t psymodal .
#   docker run --rm -v "$PWD/study:/study" -w /study psymodal snakemake --cores 4 \
#       --snakefile /opt/psymodal/Snakefile --configfile /study/config.yaml
# For Apptainer/Singularity: apptainer build psymodal.sif docker-daemon://psymodal:latest
FROM python:3.11-slim

# libsndfile for soundfile (audio), git for the provenance commit, make for `make test`
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsndfile1 git make \
    && rm -rf /var/lib/apt/lists/*

# Optional extra pip index for torch (e.g. PyTorch's CPU-only wheels, a much smaller image);
# empty uses the default index.
ARG TORCH_INDEX=""
WORKDIR /opt/psymodal
COPY pyproject.toml README.md ./
COPY src ./src
RUN if [ -n "$TORCH_INDEX" ]; then \
        pip install --no-cache-dir torch==2.13.0 --extra-index-url "$TORCH_INDEX"; \
    else pip install --no-cache-dir torch==2.13.0; fi \
    && pip install --no-cache-dir -e .
COPY Snakefile ./
COPY workflow ./workflow
COPY config ./config
COPY envs ./envs

ENV NUMBA_CACHE_DIR=/tmp/numba_cache \
    MPLBACKEND=Agg \
    OMP_NUM_THREADS=1
# The demo runs with no data mounted: docker run --rm psymodal snakemake --cores 2
WORKDIR /opt/psymodal
CMD ["psymodal", "--help"]
