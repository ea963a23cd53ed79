using System;
using System.IO;

namespace RayRunner.Core.Ray
{
    /// <summary>
    /// Finds the token the way Ray does (Ray 2.52+): the caller's, else RAY_AUTH_TOKEN, else the
    /// file named by RAY_AUTH_TOKEN_PATH (unreadable or empty is an error, as in Ray), else
    /// ~/.ray/auth_token when it exists. Messages name files, never their content.
    /// </summary>
    internal static class RayAuth
    {
        public const string TokenEnv = "RAY_AUTH_TOKEN";
        public const string TokenPathEnv = "RAY_AUTH_TOKEN_PATH";

        public static string? ResolveToken(string? parameter, Func<string, string?> env)
        {
            if (!string.IsNullOrWhiteSpace(parameter)) return parameter!.Trim();
            var fromEnv = env(TokenEnv);
            if (!string.IsNullOrWhiteSpace(fromEnv)) return fromEnv!.Trim();

            var path = env(TokenPathEnv);
            if (!string.IsNullOrWhiteSpace(path))
            {
                string text;
                try
                {
                    text = File.ReadAllText(path);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    throw new InvalidOperationException($"{TokenPathEnv} names '{path}', which cannot be read ({ex.GetType().Name}). Fix the path or unset {TokenPathEnv}.", ex);
                }
                if (string.IsNullOrWhiteSpace(text))
                    throw new InvalidOperationException($"{TokenPathEnv} names '{path}', which is empty. Put the token in it (ray get-auth-token prints it) or unset {TokenPathEnv}.");
                return text.Trim();
            }

            var home = env("HOME");
            if (string.IsNullOrEmpty(home)) home = env("USERPROFILE");
            if (string.IsNullOrEmpty(home)) return null;
            var defaultPath = Path.Combine(home, ".ray", "auth_token");
            try
            {
                if (!File.Exists(defaultPath)) return null;
                var token = File.ReadAllText(defaultPath).Trim();
                return token.Length == 0 ? null : token;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return null; // the default file is optional: unreadable means "no token"
            }
        }
    }
}
