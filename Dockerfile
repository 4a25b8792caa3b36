# One image for the four services: build once, run any of them with SERVICE=<name>. The `web` target is the
# one origin of API.md: nginx with the built web console, routing /api/v1/* by path to the services.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/common/package.json libs/common/
COPY libs/contracts/package.json libs/contracts/
COPY libs/testing/package.json libs/testing/
COPY libs/client/package.json libs/client/
COPY libs/client/bin libs/client/bin
COPY services/identity/package.json services/identity/
COPY services/documents/package.json services/documents/
COPY services/integration-bus/package.json services/integration-bus/
COPY services/audit/package.json services/audit/
COPY apps/console/package.json apps/console/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY libs libs
COPY services services
COPY apps/console apps/console
RUN npx tsc -b tsconfig.build.json && npm run build -w apps/console && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules node_modules
COPY --from=build --chown=node:node /app/libs libs
COPY --from=build --chown=node:node /app/services services
USER node
ARG SERVICE=identity
ENV SERVICE=${SERVICE}
STOPSIGNAL SIGTERM
CMD ["sh", "-c", "exec node services/${SERVICE}/dist/main.js"]

FROM nginxinc/nginx-unprivileged:1.27-alpine AS web
COPY deploy/nginx/console.conf /etc/nginx/conf.d/default.conf
COPY --from=build /app/apps/console/dist /usr/share/nginx/html
USER 101
EXPOSE 8080
