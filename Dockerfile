# One image for API instances and workers: `python main.py` (API) or `interviewai worker`.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml constraints.txt README.md main.py ./
COPY src ./src
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --create-home --uid 1000 interviewai \
    && mkdir -p /data && chown interviewai /data
USER interviewai

ENV DATA_DIR=/data HOST=0.0.0.0 PORT=8000 PYTHONUNBUFFERED=1
EXPOSE 8000
CMD ["python", "main.py"]
