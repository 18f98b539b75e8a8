# Texts of the server-rendered pages, in English.
#
# Every message here has a counterpart with the same id in
# ../zh-TW/main.ftl; a test of the oauth-http crate checks that both files
# hold the same ids and that every scope of the catalogue is described.
# Messages are plain text: the page template escapes them.

## Frame of every page

skip-to-content = Skip to the page content
language-switch = Language
page-footer = Loopwise Connect keeps your password to itself: applications never see it.

## Login

login-title = Log in to { $school }
login-intro = Use your account at { $school }.
login-email = Email
login-password = Password
login-submit = Log in
login-error-expired = Your login form expired. Please try again.
login-error-throttled = Too many attempts. Wait a minute and try again.
login-error-unavailable = The server could not log you in. Please try again.
login-error-incorrect = The email or password is incorrect.

## School picker (platform applications at the platform address)

picker-title = Choose a school
picker-intro = { $app } wants access to one of your schools. Which one?
picker-hint = The application will only reach the school you choose.

## Consent

consent-title = Allow { $app } to access { $school }?
consent-application = Application
consent-client-site = Described at
consent-registered-by = Registered by
consent-registered-school = { $school }
consent-registered-platform = Loopwise, as a platform application
consent-registered-self = The application itself; not reviewed by Loopwise
consent-school = School
consent-account = Your account
consent-returns-to = Returns to
consent-loopback-warning = That address is on this device. Only approve if you started this application yourself just now.
consent-can = If you approve, { $app } will be able to:
consent-access-read = view only
consent-access-write = can make changes
consent-approve = Approve
consent-deny = Deny
consent-deny-explained = Deny sends you back to the application without giving it any access. You can revoke an approval later on the connected applications page of { $school }.

## Scope groups and scopes

scope-group-identity = About you
scope-group-courses = Courses
scope-group-students = Students
scope-group-pages = Pages
scope-group-enrollments = Enrollments
scope-group-orders = Orders
scope-group-admin = School administration
scope-group-account = Your account

scope-openid = Sign you in with your Loopwise account
scope-profile = See your name
scope-email = See your email address
scope-offline_access = Keep access while you are away
scope-courses-read = View the school's courses
scope-courses-write = Create and change the school's courses
scope-students-read = View the school's students
scope-students-write = Change the school's student records
scope-pages-read = View the school's pages
scope-pages-write = Create and change the school's pages
scope-enrollments-read = View enrollments
scope-enrollments-write = Enroll and unenroll students
scope-orders-read = View orders
scope-orders-write = Change orders
scope-admin-read = View the school's administration settings
scope-admin-write = Change the school's administration settings
scope-account-read = View your account
scope-account-write = Change your account

## Audience denied

denied-title = { $app } is not available to you
denied-not-school-admin = This application is only for owners and managers of { $school }.
denied-not-member = This application is only for members of { $school }.
denied-not-staff = This application is only for Loopwise staff.
denied-no-school = None of your schools lets you authorize this application.
denied-logged-in-as = You are logged in as { $email }.
denied-return = Return to { $app }

## Connected applications

connected-title = Connected applications
connected-intro = Applications you have allowed to access { $school } as { $email }.
connected-revoked = Access revoked. The application loses access at its next request.
connected-allowed-on = Allowed on { $date }
connected-revoke = Revoke access of { $app }
connected-none = No application has access.
logout-submit = Log out

## Logout

logout-title = Logged out
logout-message = You are logged out.
logout-refused-title = Not logged out
logout-refused-message = The request did not come from this site's logout form.

## Error pages

error-code = Error code
error-close-hint = You can close this page and return to the application you came from.
error-unknown-host-title = Unknown address
error-unknown-host-message = This address does not belong to any school on Loopwise.
error-unavailable-title = Temporarily unavailable
error-unavailable-message = The server could not complete this step. Please try again in a moment.
error-try-again-title = Try again
error-login-start-message = The server could not start a login. Please try again.
error-request-title = This request cannot be completed
error-duplicate-parameter = The parameter { $name } was sent more than once.
error-client-id-missing = The request does not say which application is asking (client_id is missing).
error-unknown-client = The application asking for access is not known here.
error-app-changed = The application was changed or disabled while you were deciding, so nothing was approved. Return to the application and start again.
error-redirect-uri-missing = The request does not say where to return to (redirect_uri is missing).
error-redirect-uri-not-registered = The address to return to is not registered for this application.
error-consent-repeated-title = This approval cannot be used
error-consent-repeated-message = The consent form was sent with repeated fields. Return to the application and start again.
error-session-ended-title = Your session has ended
error-session-ended-message = Please return to the application and start again.
error-consent-forged-title = This approval did not come from this page
error-consent-forged-message = For your safety nothing was approved. Return to the application and start again.
error-unknown-school-title = Unknown school
error-unknown-school-message = The school you picked does not exist.
error-connected-elsewhere-title = Open this page at your school
error-connected-elsewhere-message = Connected applications are listed at your school's own address.
error-revoke-title = Nothing was revoked
error-revoke-not-here = There is nothing to revoke here.
error-revoke-forged = The request did not come from the connected applications page.
error-revoke-unnamed = No application was named.
error-revoke-not-found = That access does not exist or is not yours.
error-admin-elsewhere-title = Open administration at your school
error-admin-elsewhere-message = A school is administered at its own address.
error-admin-refused-title = Administration is not open to you
error-admin-not-school-admin = Only owners and managers of this school may do this.
error-admin-forged = The request did not come from this school's administration pages.
error-admin-insufficient-scope = The access token lacks the scope { $scope }.
