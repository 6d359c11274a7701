# The FinFlow image used by docker-compose.yml for servers and workers (one image, two commands).
FROM node:20-bookworm-slim
# Build tools for the native modules (better-sqlite3, isolated-vm); poppler-utils and pocketsphinx for the
# multimodal nodes (optional: drop them for a smaller image without PDF OCR and speech to text).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ poppler-utils \
  pocketsphinx pocketsphinx-en-us sox && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN npm ci && npm run build && mkdir -p /var/lib/finflow && chown node:node /var/lib/finflow
USER node
ENV NODE_ENV=production
# glibc's mmap threshold fixed at 4 MiB (which also turns its dynamic raise off): scrypt's 8 MiB block for each
# sign-in is then returned at once instead of staying in a libuv thread's malloc arena. Idle RSS 110 -> 98 MiB,
# no CPU cost per call measured (bench/README.md, "Round 5: idle memory").
ENV MALLOC_MMAP_THRESHOLD_=4194304
CMD ["npx", "finflow", "serve"]
