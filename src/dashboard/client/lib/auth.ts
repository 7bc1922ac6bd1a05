/**
 * The API token: kept in localStorage only and sent as an Authorization header, never in a URL.
 * Forgetting it (the user's choice, or a 401) shows the token form again with a message.
 */
import { readStorage, TOKEN_KEY, writeStorage } from "./storage.ts";

let token = readStorage(TOKEN_KEY);
let flash = "";
let onSignedOut: () => void = () => {};

export const currentToken = (): string | null => token;

/** Uses a token for the next calls (not saved until `saveToken`). */
export function useToken(value: string | null): void {
  token = value;
}

export function saveToken(value: string): void {
  token = value;
  writeStorage(TOKEN_KEY, value);
}

export function forgetToken(message: string): void {
  token = null;
  writeStorage(TOKEN_KEY, null);
  flash = message;
  onSignedOut();
}

/** The message for the token form (once). */
export function takeFlash(): string {
  const message = flash;
  flash = "";
  return message;
}

export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

export const REJECTED_TOKEN = "The API rejected the token. Enter a valid one.";

export function authHeaders(): Record<string, string> {
  return token ? { Authorization: "Bearer " + token } : {};
}
