/** The API token `npm start` accepts when FORKYARD_API_TOKENS is not set (the CLI's default token). */
export const LOCAL_API_TOKEN = "forkyard-local-token";
