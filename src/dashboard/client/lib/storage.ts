/** localStorage that tolerates being unavailable (private mode, blocked storage). */
export const TOKEN_KEY = "forkyard.token";
export const REPO_KEY = "forkyard.lastRepo";

export function readStorage(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function writeStorage(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // private mode
  }
}
