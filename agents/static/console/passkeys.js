// Shows a newly added passkey in the list: the page is read again once the browser and the
// server have both finished registering it.
document.addEventListener("otp_webauthn.register_complete", () => {
  window.location.reload();
});
