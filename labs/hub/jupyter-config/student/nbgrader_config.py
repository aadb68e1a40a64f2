# nbgrader for a student on the course hub: fetch, validate and submit through the exchange.
import os

c = get_config()  # noqa: F821 - provided by nbgrader
c.CourseDirectory.course_id = "medai-edu"
c.Exchange.root = os.environ["MEDAI_HUB_EXCHANGE"]  # set by the hub's spawner
